#!/usr/bin/env python3
"""Writes the hostile Actionstep hook bodies (actionstep/): bodies POSTed to
/v1/actionstep/{token}. Each must be answered 200 (Actionstep switches a hook off at any other
answer), held for replay or skipped, and make no workspace and no iManage request. Run from this
directory; the files are committed, this script only documents how they were made."""
import json, os, shutil

# A well-formed action but for one thing: it has no clients, so even a body that reads as an
# action can never make a workspace.
VALID = {"id": 1042, "name": "Smith v Jones", "reference": "LIT-2026-0042", "priority": 2,
         "status": "Active", "isDeleted": "F", "modifiedTimestamp": "2026-11-20T09:14:02+13:00",
         "links": {"actionType": "12", "assignedTo": "311", "primaryParticipants": []}}

cases = []

def add(name, body):
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    cases.append((name, bytes(body)))

def action(**over):
    a = json.loads(json.dumps(VALID))
    for k, v in over.items():
        a[k] = v
    return a

good = json.dumps({"actions": [VALID]}).encode()
for n, cut in enumerate([1, 12, len(good) // 2, len(good) - 1]):
    add(f"truncated-{n}", good[:cut])
for name, raw in [
    ("empty", b""), ("whitespace", b"  \n "), ("null", b"null"), ("array", b"[1, 2]"),
    ("string", b'"actions"'), ("number", b"5"), ("bom", b"\xef\xbb\xbf" + good),
    ("invalid-utf8", b'{"actions": [{"id": 1, "name": "\xff\xfe"}]}'),
    ("nul-byte", good.replace(b"Smith", b"Sm\x00ith")),
    ("deep-array", b"[" * 100000 + b"]" * 100000),
    ("deep-object", b'{"a":' * 50000 + b"1" + b"}" * 50000),
    ("two-documents", good + good), ("xml", b"<actions><id>1</id></actions>"),
    ("form-encoded", b"actions=1&name=x"),
]:
    add(f"malformed-{name}", raw)
for name, value in [("null", None), ("number", 5), ("string", "x"), ("empty-array", []),
                    ("array-of-null", [None]), ("array-of-number", [5]), ("empty-object", {})]:
    add(f"actions-{name}", {"actions": value})
for name, value in [("null", None), ("object", {}), ("list", [1]), ("blank", " "), ("bool", True),
                    ("dot-dot", "../../x"), ("slash", "a/b"), ("percent", "%2e%2e"),
                    ("nul", "a\u0000b"), ("long", "9" * 10000), ("newline", "1\n2"),
                    ("negative", -1), ("float", 1.5)]:
    add(f"id-{name}", {"actions": [action(id=value)]})
for name, value in [("missing", None), ("number", 5), ("blank", "  "), ("control", "a\u0007b"),
                    ("100k", "x" * 100000), ("rtl-override", "\u202eevil")]:
    a = action(name=value)
    if name == "missing":
        del a["name"]
    add(f"name-{name}", {"actions": [a]})
add("status-number", {"actions": [action(status=5)]})
add("status-nul", {"actions": [action(status="Closed\u0000")]})
add("is-deleted-number", {"actions": [action(isDeleted=5)]})
add("links-string", {"actions": [action(links="12")]})
add("participants-string", {"actions": [action(links={"primaryParticipants": "5120"})]})
add("participants-null-and-objects", {"actions": [action(links={"primaryParticipants": [None, {}, []]})]})
add("participants-5000", {"actions": [action(links={"primaryParticipants": [str(i) for i in range(5000)]})]})
add("action-type-object", {"actions": [action(links={"actionType": {"id": 12}})]})
add("actions-200-without-clients", {"actions": [action(id=i) for i in range(1, 201)]})
add("data-null", {"data": None})
add("data-empty-array", {"data": []})
add("data-no-type", {"data": {"id": "1", "attributes": {"name": "x"}}})
add("data-users", {"data": {"type": "users", "id": "1", "attributes": {"name": "x"}}})
add("data-no-attributes", {"data": {"type": "actions", "id": "1"}})
add("data-attributes-list", {"data": {"type": "actions", "id": "1", "attributes": [1]}})
add("data-mixed-types", {"data": [{"type": "actions", "id": "1", "attributes": {"name": "x"}},
                                  {"type": "users", "id": "2", "attributes": {}}]})
add("data-relationships-garbage", {"data": {"type": "actions", "id": "1",
    "attributes": {"name": "x"}, "relationships": {"actionType": 5, "primaryParticipants": {"data": "x"}}}})
add("data-id-dot-dot", {"data": {"type": "actions", "id": "../1", "attributes": {"name": "x"}}})
add("participants-number", {"actionparticipants": 5})
add("participants-empty", {"actionparticipants": []})
add("unknown-resource", {"resthooks": [{"eventName": "ActionCreated"}]})
add("duplicate-keys", b'{"actions": [], "actions": 5}')

out = "actionstep"
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
for i, (name, body) in enumerate(cases):
    with open(os.path.join(out, f"{i:03d}-{name}.json"), "wb") as f:
        f.write(body)
print(len(cases), "cases")
