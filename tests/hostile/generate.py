#!/usr/bin/env python3
"""Writes the hostile-input corpus: request bodies for POST /v1/events (events/), pasted
links for link-workspace (urls.txt), and request targets naming matters that cannot be
(paths.txt). Every case must be refused with a typed error (4xx over
HTTP) and change nothing. Run from this directory; the files are committed, this script only
documents how they were made."""
import json, os, shutil

VALID = {"id": "1042", "title": "Smith v Jones", "matter_type": "Litigation",
         "clients": [{"id": "C-100", "name": "Acme Holdings Ltd"}],
         "file_reference": "LIT-2026-0042", "assigned_to": "JSMITH", "priority": "High",
         "status": "Active", "acting_user": "JSMITH"}

def event(matter=None, **over):
    e = {"id": "evt-1", "type": "matter.created", "matter": dict(VALID) if matter is None else matter}
    e.update(over)
    return e

def with_matter(**over):
    m = dict(VALID)
    for k, v in over.items():
        if v is DROP:
            m.pop(k, None)
        else:
            m[k] = v
    return event(m)

DROP = object()
cases = []  # (name, bytes)

def add(name, body):
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    cases.append((name, bytes(body)))

# Malformed JSON.
good = json.dumps(event()).encode()
for n, cut in enumerate([1, 5, 20, len(good) // 2, len(good) - 1]):
    add(f"truncated-{n}", good[:cut])
for name, raw in [
    ("empty", b""), ("whitespace", b"   \n"), ("null", b"null"), ("array", b"[]"), ("string", b'"event"'),
    ("number", b"42"), ("true", b"true"), ("single-quotes", b"{'id': 'x'}"), ("trailing-comma", good[:-1] + b",}"),
    ("comment", b"// hi\n" + good), ("nan", b'{"id": NaN}'), ("infinity", b'{"id": Infinity}'),
    ("bom", b"\xef\xbb\xbf" + good), ("invalid-utf8", good.replace(b"Smith", b"Sm\xff\xfeth")),
    ("lone-surrogate", good.replace(b"Smith", b"Sm\\ud800th")), ("nul-byte", good.replace(b"Smith", b"Sm\x00th")),
    ("deep-array", b"[" * 10000 + b"]" * 10000), ("deep-object", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("duplicate-keys", b'{"id": "a", "id": "b", "type": "matter.created"}'), ("xml", b"<event><id>1</id></event>"),
    ("form-encoded", b"id=evt-1&type=matter.created"), ("binary", bytes(range(256))),
    ("two-documents", good + good), ("unterminated-string", b'{"id": "evt-1'),
]:
    add(f"malformed-{name}", raw)

# Wrong types and missing fields.
for field, value in [("id", 5), ("id", None), ("id", ["evt"]), ("id", {"a": 1}), ("type", 1), ("type", None),
                     ("type", "matter.deleted"), ("type", "MATTER.CREATED"), ("type", ""), ("matter", "1042"),
                     ("matter", []), ("matter", None), ("matter", 1042)]:
    e = event(); e[field] = value
    add(f"type-{field}-{type(value).__name__}-{len(cases)}", e)
for field in ["id", "type", "matter"]:
    e = event(); del e[field]
    add(f"missing-{field}", e)
for field in ["id", "title", "matter_type", "clients"]:
    add(f"missing-matter-{field}", with_matter(**{field: DROP}))
for field, value in [("id", 1042), ("title", ["Smith"]), ("title", None), ("matter_type", 7), ("clients", {"id": "C-100"}),
                     ("clients", "C-100"), ("clients", [["C-100"]]), ("clients", [{"id": "C-100"}]),
                     ("clients", [{"name": "Acme"}]), ("clients", [{"id": 100, "name": "Acme"}]), ("file_reference", 42),
                     ("priority", 2), ("assigned_to", ["JSMITH"]), ("status", {"s": 1}), ("acting_user", True)]:
    add(f"wrong-matter-{field}-{type(value).__name__}-{len(cases)}", with_matter(**{field: value}))
add("no-clients", with_matter(clients=[]))

# Sizes.
add("title-1mb", with_matter(title="A" * 1_000_000))
add("title-4097", with_matter(title="é" * 4097))
add("file-reference-100k", with_matter(file_reference="R" * 100_000))
add("client-name-50k", with_matter(clients=[{"id": "C-1", "name": "N" * 50_000}]))
add("clients-101", with_matter(clients=[{"id": f"C-{i}", "name": "n"} for i in range(101)]))
add("clients-5000", with_matter(clients=[{"id": f"C-{i}", "name": "n"} for i in range(5000)]))
add("body-over-1mib", with_matter(title="B" * (1 << 20)))

# Hostile ids (matter, client, event).
ids = ["", " ", "../x", "..", ".hidden", "a/b", "a\\b", "a!b", "ACTIVE!1000", "%2e%2e", "a b", "a\tb", "a\nb", "\u0000",
       "x\u0007", "\u202eevil", "abc\u200b", "😀", "מטר", "Ωmega", "1; DROP TABLE kv;--", "' OR '1'='1", "<script>alert(1)</script>",
       "<img src=x onerror=alert(1)>", "${jndi:ldap://x}", "{{7*7}}", "a\"b", "a'b", "a`b", "a|b", "a;b", "a&b", "a?b",
       "a#b", "a%b", "a*b", "a+b", "a=b", "a,b", "a@b", "a$b", "a(b)", "a[b]", "a{b}", "a<b", "a>b", "a~b", "a^b",
       "9" * 65, "-" * 100, "Ａ１", "\ud7ff" if False else "x" * 200]
for n, bad in enumerate(ids):
    add(f"matter-id-{n:02}", with_matter(id=bad))
for n, bad in enumerate(ids[:30]):
    add(f"client-id-{n:02}", with_matter(clients=[{"id": bad, "name": "Acme"}]))
for n, bad in enumerate(ids[:25]):
    e = event(); e["id"] = bad
    add(f"event-id-{n:02}", e)

# Titles that are only control or invisible characters (blank once cleaned).
for n, t in enumerate(["", "   ", "\u0000\u0001\u0002", "\n\t\r", "\u0007" * 10, "\u001b\u001b", "\u0085\u009f"]):
    add(f"blank-title-{n}", with_matter(title=t))
add("matter-type-control", with_matter(matter_type="Liti\u0000gation"))
add("matter-type-long", with_matter(matter_type="T" * 65))

shutil.rmtree("events", ignore_errors=True)
os.makedirs("events")
for n, (name, body) in enumerate(cases):
    with open(f"events/{n:03}-{name}.json", "wb") as f:
        f.write(body)

urls = [
    "", " ", "not a url", "javascript:alert(1)", "file:///etc/passwd", "ftp://127.0.0.1/work/link/w/ACTIVE!1000",
    "/work/link/w/ACTIVE!1000", "work/link/w/ACTIVE!1000", "https://evil.example/work/link/w/ACTIVE!1000",
    "https://evil.example/?BASE/work/link/w/ACTIVE!1000", "https://BASEHOST.evil.example/work/link/w/ACTIVE!1000",
    "BASE@evil.example/work/link/w/ACTIVE!1000", "BASE/work/link/d/ACTIVE!1000.1", "BASE/work/link/d/ACTIVE!1000",
    "BASE/work/web/r/libraries/ACTIVE/documents/ACTIVE!1000.1", "BASE/work/link/w/OTHER!1000",
    "BASE/work/web/r/libraries/OTHER/workspaces/OTHER!1000", "BASE/work/web/r/libraries/ACTIVE/workspaces/OTHER!1000",
    "BASE/work/link/w/ACTIVE!abc", "BASE/work/link/w/ACTIVE", "BASE/work/link/w/!1000", "BASE/work/link/w/",
    "BASE/work/link/w/ACTIVE%25211000", "BASE/work/link/w/ACTIVE!1000/../../admin", "BASE/work/link/x/ACTIVE!1000",
    "BASE/work/web/r/libraries/ACTIVE/workspaces/", "BASE/", "BASE/work/link/w/ACTIVE!99999999",
    "BASE/work/link/w/ACTIVE!100", "BASE\\work\\link\\w\\ACTIVE!1000", "BASE/work/link/w/ACTIVE!1000\u0000",
    "BASE/work/link/w/ACTIVE!1000 extra", "BASE/work/link/w/ACTIVE!1000\n", "BASE/work/link/w/<script>",
    "BASE/work/link/w/' OR 1=1 --", "http://[::1]:1/work/link/w/ACTIVE!1000", "https://" + "a" * 3000 + ".com/",
    "BASE/work/link/w/" + "9" * 3000, "BASE/work/link/w/ACTIVE!1000?" + "q" * 3000, "data:text/html,<h1>x</h1>",
    "mailto:admin@firm.com", "BASE/work/link/f/ACTIVE!99999999", "BASE/work/web/r/libraries/ACTIVE/folders/ACTIVE!99999999",
    "https://user:pass@BASEHOST/work/link/w/ACTIVE!1000", "BASE/work/link/w/ACTIVE!1000#", "😀", "\u202eBASE",
]
with open("urls.txt", "w", encoding="utf-8") as f:
    f.write("# One pasted link per line, refused by link-workspace. BASE = the iManage base URL,\n")
    f.write("# BASEHOST = its host:port; \\n inside a line is written as the two characters \\n.\n")
    for u in urls:
        f.write(u.replace("\n", "\\n").replace("\u0000", "\\0") + "\n")
# Matter ids in route paths, sent as raw bytes on the request line (signed): each a clean 4xx.
# Path segments are never percent-decoded, so every encoded form must be refused as it stands.
path_ids = [b"a/b", b"a?b", b"a#b", b"%00", b"a%00b", b"%2e%2e", b"%2E%2E", b"..", b".", b"%2f", b"a%2Fb",
            b"%ff%fe", b"\xff\xfe", b"a\xc0\xafb", b"%c0%af", b"caf\xc3\xa9", b"%23", b"", b"%20", b"9" * 65]
routes = [("GET", b"/v1/matters/{}/folders"), ("GET", b"/v1/matters/{}/workspace"),
          ("POST", b"/v1/matters/{}/documents?name=x.pdf")]
with open("paths.txt", "wb") as f:
    f.write(b"# METHOD TARGET per line, refused with a 4xx and no change; \\xHH is the raw byte HH.\n")
    for method, route in routes:
        for bad in path_ids:
            target = route.replace(b"{}", bad)
            escaped = b"".join(b"\\x%02x" % c if c >= 0x80 else bytes([c]) for c in target)
            f.write(method.encode() + b" " + escaped + b"\n")
print(len(cases), "events,", len(urls), "urls,", len(routes) * len(path_ids), "paths")
