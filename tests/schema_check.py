"""Checks schemas/ against the C++ model: to_simple output validates, and every document that
violates a schema is rejected by from_simple with a dedup::error (exit status 3 of the tool)."""
import argparse, copy, json, os, subprocess, sys, tempfile

import jsonschema

p = argparse.ArgumentParser()
p.add_argument("--tool", required=True)
p.add_argument("--schemas", required=True)
p.add_argument("--fixture", required=True)
args = p.parse_args()

store = {}
for name in os.listdir(args.schemas):
    with open(os.path.join(args.schemas, name)) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    store[name.removesuffix(".schema.json")] = schema
resolver_store = {s["$id"]: s for s in store.values()}


def validator(kind):
    s = store[kind]
    return jsonschema.Draft202012Validator(s, resolver=jsonschema.RefResolver.from_schema(s, store=resolver_store))


failures = []

# 1. to_simple output validates, as a whole and part by part.
emitted = json.loads(subprocess.run([args.tool, "emit", "300"], check=True, capture_output=True, text=True).stdout)
parts = {"ref_list": [emitted], "dataset_ref": emitted["refs"],
         "dataset_type": [r["datasetType"] for r in emitted["refs"]],
         "data_coordinate": [r["dataId"] for r in emitted["refs"]],
         "dimension_record": [rec for r in emitted["refs"] for rec in r["dataId"]["records"].values()]}
for kind, docs in parts.items():
    v = validator(kind)
    for d in docs:
        for e in v.iter_errors(d):
            failures.append(f"to_simple output of {kind} violates its schema: {e.message}")
            break

# 2. documents that violate a schema are rejected by from_simple.
with open(args.fixture) as f:
    ref = json.load(f)


def mutated(edit):
    d = copy.deepcopy(ref)
    edit(d)
    return d


violations = [
    ("dataset_ref", "id not a uuid", mutated(lambda d: d.update(id="12345"))),
    ("dataset_ref", "run missing", mutated(lambda d: d.pop("run"))),
    ("dataset_ref", "unknown member", mutated(lambda d: d.update(extra=1))),
    ("dataset_ref", "run not a string", mutated(lambda d: d.update(run=["a"]))),
    ("dataset_type", "name not a string", mutated(lambda d: d["datasetType"].update(name=3))["datasetType"]),
    ("dataset_type", "dimensions missing", mutated(lambda d: d["datasetType"].pop("dimensions"))["datasetType"]),
    ("dataset_type", "dimension not a string", mutated(lambda d: d["datasetType"].update(dimensions=[1]))["datasetType"]),
    ("dataset_type", "isCalibration not a boolean", mutated(lambda d: d["datasetType"].update(isCalibration="no"))["datasetType"]),
    ("data_coordinate", "dataId value a float", mutated(lambda d: d["dataId"]["dataId"].update(visit=1.5))["dataId"]),
    ("data_coordinate", "dataId missing", mutated(lambda d: d["dataId"].pop("dataId"))["dataId"]),
    ("data_coordinate", "record not an object", mutated(lambda d: d["dataId"]["records"].update(visit=7))["dataId"]),
    ("dimension_record", "timespan without end",
     mutated(lambda d: d["dataId"]["records"]["visit"]["record"]["timespan"].pop("end"))["dataId"]["records"]["visit"]),
    ("dimension_record", "nested array in a record", mutated(
        lambda d: d["dataId"]["records"]["visit"]["record"].update(seq_num=[[1]]))["dataId"]["records"]["visit"]),
    ("dimension_record", "timespan beyond int64", mutated(
        lambda d: d["dataId"]["records"]["visit"]["record"]["timespan"].update(end=2**64 - 1))["dataId"]["records"]["visit"]),
    ("ref_list", "refs not an array", {"refs": {}}),
]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "doc.json")
    # the valid fixture itself must pass both
    with open(path, "w") as f:
        json.dump(ref, f)
    if list(validator("dataset_ref").iter_errors(ref)):
        failures.append("the valid fixture violates the dataset_ref schema")
    if subprocess.run([args.tool, "read", "dataset_ref", path]).returncode != 0:
        failures.append("from_simple rejects the valid fixture")
    for kind, what, doc in violations:
        if not list(validator(kind).iter_errors(doc)):
            failures.append(f"{kind}: '{what}' is not a schema violation (fix the test)")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = subprocess.run([args.tool, "read", kind, path], capture_output=True, text=True)
        if r.returncode != 3:
            failures.append(f"{kind}: '{what}' was not rejected with a dedup::error (exit {r.returncode})")
        elif "dedup:" not in r.stdout:
            failures.append(f"{kind}: '{what}' error message lacks the dedup prefix: {r.stdout}")

checked = len(parts) + len(violations) + 1
for f in failures:
    print("FAIL:", f)
print(f"{checked - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
