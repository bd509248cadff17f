"""Runs a state machine definition of template.yaml in-process, as Step Functions would, for the parts of the Amazon
States Language the backfill's definition uses: Pass (Parameters, `States.StringToJson`), Task (`lambda:invoke`,
Retry, Catch, ResultSelector, ResultPath, OutputPath), Wait (not waited), Choice (StringEquals), Fail (CausePath),
and a DISTRIBUTED Map (an S3 CSV ItemReader with its header row, ItemBatcher, ToleratedFailurePercentagePath, an S3
ResultWriter with its manifest and a file per status) with redrive of the batches that failed.

A test helper, not a Step Functions emulator: anything else in a definition raises NotImplementedError, so the test
fails rather than passing over a state it did not run. Sources: Amazon States Language specification; Step Functions
Developer Guide ("ItemReader", "ItemBatcher", "ResultWriter", "Redriving Map Runs").
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any]], Any]


class ExecutionFailedError(Exception):
    def __init__(self, state: str, error: str, cause: str) -> None:
        super().__init__(f"{state}: {error}: {cause}")
        self.state, self.error, self.cause = state, error, cause


def render(definition: Mapping[str, Any], substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The definition with its `${Name}` placeholders replaced, as CloudFormation's DefinitionSubstitutions does."""
    text = json.dumps(definition)
    for name, value in substitutions.items():
        text = text.replace("${" + name + "}", value)
    leftover = re.findall(r"\$\{\w+\}", text)
    assert not leftover, f"unsubstituted: {leftover}"
    rendered: dict[str, Any] = json.loads(text)
    return rendered


def path(data: Any, expression: str, context: Mapping[str, Any]) -> Any:
    root, rest = (context, expression[2:]) if expression.startswith("$$") else (data, expression[1:])
    value = root
    for part in [p for p in rest.split(".") if p]:
        value = value[part]
    return value


def _with_result(data: Any, result: Any, result_path: str | None) -> Any:
    if result_path is None or result_path == "$":
        return result
    merged = dict(data)
    target = merged
    parts = result_path[2:].split(".")
    for part in parts[:-1]:
        target[part] = dict(target.get(part) or {})
        target = target[part]
    target[parts[-1]] = result
    return merged


def parameters(template: Any, data: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                out[key[:-2]] = _evaluate(value, data, context)
            else:
                out[key] = parameters(value, data, context)
        return out
    if isinstance(template, list):
        return [parameters(item, data, context) for item in template]
    return template


def _evaluate(expression: str, data: Any, context: Mapping[str, Any]) -> Any:
    intrinsic = re.fullmatch(r"States\.StringToJson\('(.*)'\)", expression)
    if intrinsic:
        return json.loads(intrinsic.group(1))
    if expression.startswith("$"):
        return path(data, expression, context)
    raise NotImplementedError(expression)


@dataclass
class MapRun:
    """A Distributed Map's batches and how each ended, kept for a redrive."""

    state: str
    data: Any
    batches: list[dict[str, Any]]
    outcomes: dict[int, tuple[str, Any]] = field(default_factory=dict)  # index -> ("SUCCEEDED"|"FAILED", detail)


class LocalStateMachine:
    def __init__(
        self, definition: Mapping[str, Any], lambdas: Mapping[str, Handler], s3: Any, bucket_name: str
    ) -> None:
        self.definition = definition
        self.lambdas = lambdas
        self.s3 = s3
        self.bucket = bucket_name
        self.visited: list[str] = []
        self.context: dict[str, Any] = {}
        self.failed_map: MapRun | None = None

    def start(self, execution_input: Any, name: str) -> Any:
        self.context = {"Execution": {"Name": name, "Input": execution_input}}
        return self._run(self.definition, self.definition["StartAt"], execution_input)

    def redrive(self) -> Any:
        """Run the failed map's failed batches again, then go on from the map (Step Functions' redrive)."""
        assert self.failed_map is not None, "nothing to redrive"
        run, self.failed_map = self.failed_map, None
        state = self.definition["States"][run.state]
        output = self._finish_map(run.state, state, run, rerun=True)
        return self._run(self.definition, state["Next"], output) if "Next" in state else output

    def _run(self, machine: Mapping[str, Any], name: str | None, data: Any) -> Any:
        while name is not None:
            state = machine["States"][name]
            self.visited.append(name)
            kind = state["Type"]
            if kind == "Pass":
                data = _with_result(data, parameters(state.get("Parameters", data), data, self.context), "$")
            elif kind == "Task":
                outcome = self._task(name, state, data)
                if isinstance(outcome, tuple):  # caught: (next state, data)
                    name, data = outcome
                    continue
                data = outcome
            elif kind == "Wait":
                pass  # no time passes here; the simulator's job moves on per poll
            elif kind == "Choice":
                name = self._choose(state, data)
                continue
            elif kind == "Fail":
                cause = path(data, state["CausePath"], self.context) if "CausePath" in state else state.get("Cause")
                raise ExecutionFailedError(name, state.get("Error", "Failed"), str(cause))
            elif kind == "Map":
                data = self._map(name, state, data)
            elif kind != "Succeed":
                raise NotImplementedError(kind)
            name = None if state.get("End") or kind == "Succeed" else state["Next"]
        return data

    def _choose(self, state: Mapping[str, Any], data: Any) -> str:
        for choice in state["Choices"]:
            if set(choice) != {"Variable", "StringEquals", "Next"}:
                raise NotImplementedError(choice)
            if path(data, choice["Variable"], self.context) == choice["StringEquals"]:
                return str(choice["Next"])
        return str(state["Default"])

    def _task(self, name: str, state: Mapping[str, Any], data: Any) -> Any:
        if state["Resource"] != "arn:aws:states:::lambda:invoke":
            raise NotImplementedError(state["Resource"])
        request = parameters(state["Parameters"], data, self.context)
        handler = self.lambdas[request["FunctionName"]]
        attempts: dict[int, int] = {}
        while True:
            try:
                result: Any = {"Payload": handler(request["Payload"]), "StatusCode": 200}
                break
            except Exception as exc:
                error = {"Error": type(exc).__name__, "Cause": str(exc)}
                retry = _rule(state.get("Retry", []), error["Error"])
                if retry is not None:
                    index, rule = retry
                    attempts[index] = attempts.get(index, 0) + 1
                    if attempts[index] <= rule.get("MaxAttempts", 3):
                        continue
                caught = _rule(state.get("Catch", []), error["Error"])
                if caught is not None:
                    return caught[1]["Next"], _with_result(data, error, caught[1].get("ResultPath", "$"))
                raise ExecutionFailedError(name, error["Error"], error["Cause"]) from exc
        if "ResultSelector" in state:
            result = parameters(state["ResultSelector"], result, self.context)
        data = _with_result(data, result, state.get("ResultPath", "$"))
        return path(data, state["OutputPath"], self.context) if "OutputPath" in state else data

    # --- Distributed Map ---------------------------------------------------------------------------------------
    def _map(self, name: str, state: Mapping[str, Any], data: Any) -> Any:
        if state["ItemProcessor"]["ProcessorConfig"]["Mode"] != "DISTRIBUTED":
            raise NotImplementedError("inline maps")
        reader = state["ItemReader"]
        if reader["Resource"] != "arn:aws:states:::s3:getObject" or reader["ReaderConfig"] != {
            "InputType": "CSV",
            "CSVHeaderLocation": "FIRST_ROW",
        }:
            raise NotImplementedError(reader)
        location = parameters(reader["Parameters"], data, self.context)
        body = self.s3.get_object(Bucket=location["Bucket"], Key=location["Key"])["Body"].read().decode()
        items = list(csv.DictReader(io.StringIO(body)))
        batcher = state["ItemBatcher"]
        size = int(path(data, batcher["MaxItemsPerBatchPath"], self.context))
        batch_input = parameters(batcher.get("BatchInput", {}), data, self.context)
        batches = [
            {"Items": items[start : start + size], "BatchInput": batch_input} for start in range(0, len(items), size)
        ]
        return self._finish_map(name, state, MapRun(name, data, batches), rerun=False)

    def _finish_map(self, name: str, state: Mapping[str, Any], run: MapRun, rerun: bool) -> Any:
        processor = state["ItemProcessor"]
        for index, batch in enumerate(run.batches):
            if rerun and run.outcomes.get(index, ("",))[0] == "SUCCEEDED":
                continue
            try:
                run.outcomes[index] = ("SUCCEEDED", self._run(processor, processor["StartAt"], batch))
            except ExecutionFailedError as failure:
                run.outcomes[index] = ("FAILED", {"Error": failure.error, "Cause": failure.cause})
        details = self._write_results(state, run)
        failed = sum(1 for status, _ in run.outcomes.values() if status == "FAILED")
        tolerated = float(path(run.data, state["ToleratedFailurePercentagePath"], self.context))
        if run.batches and 100.0 * failed / len(run.batches) > tolerated:
            self.failed_map = run
            raise ExecutionFailedError(name, "States.ExceedToleratedFailureThreshold", f"{failed} batch(es) failed")
        return _with_result(run.data, details, state.get("ResultPath", "$"))

    def _write_results(self, state: Mapping[str, Any], run: MapRun) -> dict[str, Any]:
        """What a ResultWriter leaves: `<prefix>/<map run id>/manifest.json` and one file per status."""
        target = parameters(state["ResultWriter"]["Parameters"], run.data, self.context)
        prefix = f"{target['Prefix']}/{uuid.uuid4()}"
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status in ("FAILED", "SUCCEEDED"):
            entries = [
                {"Input": json.dumps(run.batches[index]), "Status": status, **(detail if status == "FAILED" else {})}
                | ({"Output": json.dumps(detail)} if status == "SUCCEEDED" else {})
                for index, (found, detail) in sorted(run.outcomes.items())
                if found == status
            ]
            if entries:
                key = f"{prefix}/{status}_0.json"
                self.s3.put_object(Bucket=target["Bucket"], Key=key, Body=json.dumps(entries).encode())
                files[status].append({"Key": key, "Size": 0})
        manifest = {"DestinationBucket": target["Bucket"], "ResultFiles": files}
        key = f"{prefix}/manifest.json"
        self.s3.put_object(Bucket=target["Bucket"], Key=key, Body=json.dumps(manifest).encode())
        return {
            "MapRunArn": f"arn:aws:states:local:mapRun:{prefix}",
            "ResultWriterDetails": {"Bucket": target["Bucket"], "Key": key},
        }


def _rule(rules: list[Mapping[str, Any]], error: str) -> tuple[int, Mapping[str, Any]] | None:
    for index, rule in enumerate(rules):
        if error in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]:
            return index, rule
    return None
