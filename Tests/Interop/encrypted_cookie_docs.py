"""Runs the Python snippet of Docs/encrypted-cookies.md (the ```python block after the
`<!-- tested-python-snippet -->` comment) on cookies made by SessionKit.

Reads a JSON array of {"cookie": value, "secrets": [...], "cookie_name": name} on stdin and
prints a JSON array of {"session": the dict read_session returned} or {"rejected": name}.
"""
import json
import pathlib
import sys

docs = pathlib.Path(__file__).resolve().parents[2] / "Docs" / "encrypted-cookies.md"
text = docs.read_text()
start = text.index("```python\n", text.index("<!-- tested-python-snippet -->")) + len("```python\n")
snippet = text[start : text.index("```", start)]
namespace = {}
exec(compile(snippet, str(docs), "exec"), namespace)
read_session = namespace["read_session"]

results = []
for case in json.load(sys.stdin):
    try:
        session = read_session(case["cookie"], case["secrets"], cookie_name=case["cookie_name"])
        results.append({"session": session})
    except Exception as error:
        results.append({"rejected": type(error).__name__})
print(json.dumps(results))
