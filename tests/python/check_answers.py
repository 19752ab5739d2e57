"""Checks recorded admin API answers against the schemas of the served OpenAPI document.

Usage: check_answers.py DOCUMENT ANSWERS

ANSWERS is a JSON list of {"method", "path" (the document's path template), "status",
"body"}. Each answer must be documented (its path, method and status), typed (a `$ref` to a
component schema) and valid against that schema; `$ref`s resolve into the document's
`components/schemas`. Prints one line per problem and exits 1 when there is any.

With --self-check, it instead breaks copies of the answers on purpose (a required field
dropped, an unknown field added, a type changed) and exits 1 unless every broken copy is
refused: a check that passes anything would be worthless.
"""

import copy
import json
import sys

from jsonschema import Draft202012Validator


def schema_of(document, answer):
    """The answer's schema as the document gives it, or the reason it has none."""
    operation = document["paths"].get(answer["path"], {}).get(answer["method"].lower())
    if operation is None:
        return None, "undocumented route"
    response = operation["responses"].get(str(answer["status"]))
    if response is None:
        return None, f"undocumented status {answer['status']}"
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None, "no JSON schema for the answer"
    if "$ref" not in schema:
        return None, f"an untyped answer schema {json.dumps(schema)}"
    return schema, None


def problems_of(document, answer):
    """Every problem with one answer."""
    schema, why = schema_of(document, answer)
    if schema is None:
        return [why]
    rooted = dict(schema, components=document["components"])
    validator = Draft202012Validator(rooted)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(answer["body"])
    ]


def check(document, answers):
    """Prints each problem; returns how many answers had one."""
    bad = 0
    for answer in answers:
        problems = problems_of(document, answer)
        if problems:
            bad += 1
            where = f"{answer['method']} {answer['path']} {answer['status']}"
            for problem in problems:
                print(f"{where}: {problem}")
    return bad


def closed(document, answer):
    """Whether the answer's (page item's) component schema refuses unknown fields."""
    schema, _ = schema_of(document, answer)
    component = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    items = component.get("properties", {}).get("items", {}).get("items", {})
    if "$ref" in items:
        component = document["components"]["schemas"][items["$ref"].rsplit("/", 1)[-1]]
    return component.get("additionalProperties") is False


def broken_copies(document, answers):
    """Copies of object answers broken on purpose, each with what was done: a required field
    dropped, a field's type changed, and (where the schema is closed) an unknown field added."""
    for answer in answers:
        body = answer["body"]
        if not isinstance(body, dict) or not body:
            continue

        def target_of(copied):
            return copied["body"]["items"][0] if body.get("items") else copied["body"]

        item = target_of(answer)
        name = next(
            (key for key in ("id", "name", "error", "deleted", "deliveries") if key in item),
            sorted(item)[0],
        )
        dropped = copy.deepcopy(answer)
        del target_of(dropped)[name]
        yield dropped, f"dropped {name!r}"
        retyped = copy.deepcopy(answer)
        target_of(retyped)[name] = [target_of(retyped)[name]]
        yield retyped, f"wrapped {name!r} in a list"
        if closed(document, answer):
            added = copy.deepcopy(answer)
            target_of(added)["a_field_nobody_documented"] = 1
            yield added, "added a_field_nobody_documented"


def main():
    self_check = "--self-check" in sys.argv
    document_path, answers_path = [arg for arg in sys.argv[1:] if arg != "--self-check"]
    with open(document_path) as file:
        document = json.load(file)
    with open(answers_path) as file:
        answers = json.load(file)
    if not answers:
        print("no answers to check")
        return 1
    if not self_check:
        bad = check(document, answers)
        print(f"{len(answers)} answers checked, {bad} invalid")
        return 1 if bad else 0
    passed = 0
    tried = 0
    for broken, how in broken_copies(document, answers):
        tried += 1
        if not problems_of(document, broken):
            passed += 1
            print(f"{broken['method']} {broken['path']} {broken['status']}: {how}, yet it passed")
    print(f"{tried} broken answers tried, {passed} passed")
    return 1 if passed or not tried else 0


if __name__ == "__main__":
    sys.exit(main())
