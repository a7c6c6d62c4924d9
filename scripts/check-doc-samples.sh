#!/usr/bin/env bash
# Builds every ```swift code sample of README.md and Docs/**/*.md against the library.
#
#   bash scripts/check-doc-samples.sh                 # library samples (CI runs this)
#   bash scripts/check-doc-samples.sh --frameworks    # also the Hummingbird and Vapor samples
#   bash scripts/check-doc-samples.sh --framework vapor   # also one framework's samples
#   bash scripts/check-doc-samples.sh --list          # print each sample and how it is checked
#
# How a block is checked depends on its info string:
#
#   ```swift                 compiled against the library (SessionKit, SessionKitCrypto,
#                            SessionKitRedis, SessionKitMemcached, SessionKitTLS) as built by `swift build`
#                            (--scratch-path, default .build). The block becomes the body of its
#                            own `async throws` function, its `import` lines move to the top of
#                            the file, and `#sourceLocation` makes compiler errors point at the
#                            Markdown file and line.
#   ```swift toplevel        compiled as a file of its own, unwrapped (declarations only).
#   ```swift hummingbird     compiled like ```swift, in a package that also depends on
#   ```swift vapor           Hummingbird or Vapor and holds a copy of the example adapter
#                            (Examples/*/*/Sources/*SessionKit/SessionKitMiddleware.swift), as an
#                            application that copied it would. Only with --frameworks: a first
#                            build of those frameworks takes several minutes.
#   ```swift file=PATH       must appear verbatim in PATH, a source file that CI builds
#                            (Examples/scripts/ci-examples.sh builds the example packages).
#
# A block without `import` lines is a fragment that continues the page's earlier samples: it
# sees Foundation and all of the library's modules (and the framework's, for hummingbird/vapor).
# A block with `import` lines must import every module it uses.
#
# A fragment may use names it does not declare, as documentation does (`session`, `context`,
# `secret`...): the wrapping function takes them as parameters, with the types listed in
# AMBIENT below. A block with imports gets no such names unless an HTML comment on the line
# before it lists them (the comment also adds or retypes names for fragments):
#   <!-- sample-context: header: [UInt8], body: [UInt8] -->
#
# Generated files live in .build-docs-samples/ (git-ignored), the framework packages too, so
# that their builds are reused.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export PATH="/opt/swift/usr/bin:$PATH"

frameworks=0
only=""
list=0
scratch=.build
while [ $# -gt 0 ]; do
  case "$1" in
    --frameworks) frameworks=1; only="hummingbird vapor" ;;
    --framework) frameworks=1; only="${only:-} $2"; shift ;;
    --list) list=1 ;;
    --scratch-path) scratch="$2"; shift ;;
    *) echo "usage: $0 [--scratch-path DIR] [--frameworks | --framework hummingbird|vapor] [--list]" >&2; exit 2 ;;
  esac
  shift
done

work="$root/.build-docs-samples"
mkdir -p "$work"

python3 - "$root" "$work" "$only" "$list" <<'PY'
import os, re, sys, glob

root, work, only, list_only = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4] == "1"

# Names a sample may use without declaring them, and their types.
AMBIENT = {
    "session": "Session",
    "context": "SessionContext",
    "secret": "String",
    "cookieHeaderValues": "[String]",
    "submitted": "String",
    "configuration": "SessionConfiguration",
    "userConfig": "SessionConfiguration",
    "adminConfig": "SessionConfiguration",
    "logger": "SampleLogger",
}
FRAMEWORK_AMBIENT = {
    "vapor": {"app": "Application"},
    "hummingbird": {},
}

docs = ["README.md"] + sorted(glob.glob("Docs/**/*.md", recursive=True))
fence = re.compile(r"^(\s*)(`{3,}|~{3,})(.*)$")
context_comment = re.compile(r"<!--\s*sample-context:\s*(.*?)\s*-->")

samples = []   # dicts: doc, line, kind, attrs, code, extra
problems = []
for doc in docs:
    with open(os.path.join(root, doc), encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = fence.match(lines[i])
        if not m:
            i += 1
            continue
        indent, marker, info = m.group(1), m.group(2), m.group(3).strip()
        start = i
        body = []
        i += 1
        while i < len(lines):
            m2 = fence.match(lines[i])
            if m2 and m2.group(2).startswith(marker[0]) and len(m2.group(2)) >= len(marker) and not m2.group(3).strip():
                break
            line = lines[i]
            if indent and line.startswith(indent):
                line = line[len(indent):]
            body.append(line)
            i += 1
        if i >= len(lines):
            problems.append(f"{doc}:{start + 1}: code block is not closed")
        i += 1
        words = info.split()
        if not words or words[0] != "swift":
            if words and words[0].startswith("swift"):
                problems.append(f"{doc}:{start + 1}: unknown info string '{info}'; use ```swift with options (see scripts/check-doc-samples.sh)")
            continue
        attrs = {}
        kind = "core"
        for w in words[1:]:
            if w.startswith("file="):
                attrs["file"] = w[5:]
                kind = "file"
            elif w in ("hummingbird", "vapor"):
                kind = w
            elif w == "toplevel":
                attrs["toplevel"] = True
            else:
                problems.append(f"{doc}:{start + 1}: unknown sample option '{w}'")
        extra = {}
        # A sample-context comment on the closest non-blank line above the fence.
        j = start - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        if j >= 0:
            cm = context_comment.search(lines[j])
            if cm:
                for part in cm.group(1).split(","):
                    if ":" not in part:
                        problems.append(f"{doc}:{j + 1}: sample-context entry '{part.strip()}' needs 'name: Type'")
                        continue
                    name, typ = part.split(":", 1)
                    extra[name.strip()] = typ.strip()
        samples.append(dict(doc=doc, line=start + 2, kind=kind, attrs=attrs, code=body, extra=extra))

if list_only:
    for s in samples:
        print(f"{s['doc']}:{s['line']}: {s['kind']}{' file=' + s['attrs']['file'] if 'file' in s['attrs'] else ''}")

# Blocks that mirror a source file.
for s in [s for s in samples if s["kind"] == "file"]:
    path = os.path.join(root, s["attrs"]["file"])
    if not os.path.isfile(path):
        problems.append(f"{s['doc']}:{s['line']}: file={s['attrs']['file']} does not exist")
        continue
    with open(path, encoding="utf-8") as f:
        source = f.read()
    text = "\n".join(s["code"]).strip("\n")
    if text not in source:
        problems.append(f"{s['doc']}:{s['line']}: the block differs from {s['attrs']['file']}; copy the file's current text into the document")

def identifier(s, n):
    base = re.sub(r"[^A-Za-z0-9]", "_", s["doc"])
    return f"sample_{base}_L{s['line']}"

def render(s, ambient):
    imports, rest = [], []
    for line in s["code"]:
        if re.match(r"^import\s+\w+", line) or re.match(r"^@preconcurrency import\s+\w+", line):
            imports.append(line)
        else:
            rest.append(line)
    out = ["// Generated by scripts/check-doc-samples.sh from " + s["doc"] + "; do not edit."]
    # A sample with import lines must name every module it uses; one without is a fragment
    # that continues the page's earlier samples and sees all of the library's modules.
    out += sorted(set(imports)) if imports else FRAGMENT_IMPORTS[s["kind"]]
    if s["attrs"].get("toplevel"):
        out.append(f'#sourceLocation(file: "{s["doc"]}", line: {s["line"]})')
        out += rest
        out.append("#sourceLocation()")
        return "\n".join(out) + "\n", imports
    # Ambient names are for fragments; a sample with imports declares what it uses, or names
    # it in a sample-context comment.
    names = dict(ambient) if not imports else {}
    names.update(s["extra"])
    code = "\n".join(re.sub(r"//.*$", "", line) for line in rest)
    names = {k: v for k, v in names.items() if re.search(r"\b" + re.escape(k) + r"\b", code)}
    params = ", ".join(f"{k}: {v}" for k, v in names.items())
    out.append(f"@available(*, deprecated, message: \"documentation sample, never called\")")
    out.append(f"func {identifier(s, 0)}({params}) async throws {{")
    out.append(f'#sourceLocation(file: "{s["doc"]}", line: {s["line"]})')
    out += rest
    out.append("#sourceLocation()")
    out.append("}")
    return "\n".join(out) + "\n", imports

FRAGMENT_IMPORTS = {
    "core": ["import Foundation", "import SessionKit", "import SessionKitCrypto", "import SessionKitRedis", "import SessionKitMemcached",
             "import SessionKitTLS"],
    "hummingbird": ["import Foundation", "import SessionKit", "import Hummingbird"],
    "vapor": ["import Foundation", "import SessionKit", "import Vapor"],
}

SUPPORT = '''// Generated by scripts/check-doc-samples.sh; do not edit.
/// Stands in for an application's logger in documentation samples.
struct SampleLogger: Sendable {
    func info(_ message: @autoclosure () -> String) {}
    func warning(_ message: @autoclosure () -> String) {}
    func error(_ message: @autoclosure () -> String) {}
}
'''

def write_if_changed(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)

def generate(name, kinds, manifest, ambient, copies={}, write=True):
    if not write:
        return sum(1 for s in samples if s["kind"] in kinds)
    pkg = os.path.join(work, name)
    src = os.path.join(pkg, "Sources", "DocSamples")
    os.makedirs(src, exist_ok=True)
    if manifest:
        write_if_changed(os.path.join(pkg, "Package.swift"), manifest)
    wanted = {"Support.swift"}
    write_if_changed(os.path.join(src, "Support.swift"), SUPPORT)
    for fname, text in copies.items():
        wanted.add(fname)
        write_if_changed(os.path.join(src, fname), text)
    count = 0
    for s in samples:
        if s["kind"] not in kinds:
            continue
        text, _ = render(s, ambient)
        fname = identifier(s, 0) + ".swift"
        wanted.add(fname)
        write_if_changed(os.path.join(src, fname), text)
        count += 1
    for f in os.listdir(src):
        if f not in wanted:
            os.remove(os.path.join(src, f))
    return count

FRAMEWORK_MANIFEST = '''// swift-tools-version:6.0
// Generated by scripts/check-doc-samples.sh; do not edit.
import PackageDescription

let package = Package(
    name: "DocSamples{Name}",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "SessionKit", path: "../.."),
{packages}
    ],
    targets: [
        .target(
            name: "DocSamples",
            dependencies: [
                .product(name: "SessionKit", package: "SessionKit"),
                .product(name: "SessionKitRedis", package: "SessionKit"),
                .product(name: "SessionKitMemcached", package: "SessionKit"),
{products}
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
'''

counts = {}
counts["core"] = generate("core", {"core"}, None, AMBIENT)
# The framework samples are built as an application that copied the adapter file into its
# own target, as Docs/adapters.md suggests; the versions are those of the example packages.
frameworks_info = {
    "hummingbird": dict(
        Name="Hummingbird",
        adapter="Examples/Hummingbird/HummingbirdDemo/Sources/HummingbirdSessionKit/SessionKitMiddleware.swift",
        packages='        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),\n'
                 '        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),\n'
                 '        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),',
        products='                .product(name: "Hummingbird", package: "hummingbird"),\n'
                 '                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),\n'
                 '                .product(name: "HTTPTypes", package: "swift-http-types"),'),
    "vapor": dict(
        Name="Vapor",
        adapter="Examples/Vapor/VaporDemo/Sources/VaporSessionKit/SessionKitMiddleware.swift",
        packages='        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),',
        products='                .product(name: "Vapor", package: "vapor"),'),
}
for fw, info in frameworks_info.items():
    manifest = FRAMEWORK_MANIFEST
    for k, v in info.items():
        manifest = manifest.replace("{" + k + "}", v)
    ambient = dict(AMBIENT)
    ambient.update(FRAMEWORK_AMBIENT[fw])
    with open(os.path.join(root, info["adapter"]), encoding="utf-8") as f:
        adapter = f.read()
    # The folder names the root package: it must not be "hummingbird" or "vapor".
    counts[fw] = generate(fw + "-samples", {fw}, manifest, ambient, {"Adapter.swift": adapter}, write=fw in only)
counts["file"] = sum(1 for s in samples if s["kind"] == "file")

with open(os.path.join(work, "counts"), "w") as f:
    for k, v in counts.items():
        f.write(f"{k}={v}\n")

print(f"doc samples: {len(samples)} swift blocks in {len(docs)} files: "
      f"{counts['core']} library, {counts['hummingbird']} Hummingbird, {counts['vapor']} Vapor, "
      f"{counts['file']} verbatim copies of source files")
if problems:
    for p in problems:
        print("error: " + p, file=sys.stderr)
    sys.exit(1)
PY

. "$work/counts"
# Examples' Package.resolved pins the framework versions CI builds the examples with.
for fw in hummingbird vapor; do
  case $fw in
    hummingbird) resolved=Examples/Hummingbird/HummingbirdDemo/Package.resolved ;;
    vapor) resolved=Examples/Vapor/VaporDemo/Package.resolved ;;
  esac
  if [ -f "$resolved" ] && [ -d "$work/$fw-samples" ] && [ ! -f "$work/$fw-samples/Package.resolved" ]; then
    cp "$resolved" "$work/$fw-samples/Package.resolved"
  fi
done

status=0
build() {
  local name="$1"
  local start=$SECONDS
  local log="$work/$name.log"
  echo "== doc samples: building $name"
  if swift build --package-path "$work/$name" -Xswiftc -suppress-warnings >"$log" 2>&1; then
    echo "== doc samples: $name ok ($((SECONDS - start))s)"
  else
    # Compiler errors name the Markdown file and line of the sample (#sourceLocation).
    grep -E "^[^ |].*error:" "$log" | sort -u | grep . || tail -n 40 "$log"
    echo "== doc samples: $name FAILED (full log: $log)"
    status=1
  fi
}
# The library samples are compiled against the library's own build (by default the root
# package's .build, which `swift test` reuses, so CI builds the library once): swift build,
# then one swiftc invocation over every sample, with whole-module compilation so that all of
# the compiler's checks run.
if [ "$core" -gt 0 ]; then
  start=$SECONDS
  echo "== doc samples: swift build --scratch-path $scratch"
  if ! swift build --scratch-path "$scratch" >"$work/library.log" 2>&1; then
    tail -n 40 "$work/library.log"
    echo "== doc samples: the library does not build (log: $work/library.log)"
    exit 1
  fi
  modules="$(swift build --scratch-path "$scratch" --show-bin-path)/Modules"
  echo "== doc samples: compiling $core library samples"
  log="$work/core.log"
  if swiftc -parse-as-library -swift-version 6 -module-name DocSamples -wmo -suppress-warnings \
      -I "$modules" -I Sources/CSessionKitOpenSSL -c -o "$work/core/DocSamples.o" "$work"/core/Sources/DocSamples/*.swift >"$log" 2>&1; then
    echo "== doc samples: library samples ok ($((SECONDS - start))s)"
  else
    # Compiler errors name the Markdown file and line of the sample (#sourceLocation).
    grep -E "^[^ |].*error:" "$log" | sort -u | grep . || tail -n 40 "$log"
    echo "== doc samples: library samples FAILED (full log: $log)"
    status=1
  fi
fi
if [ "$frameworks" = 1 ]; then
  for fw in $only; do
    case $fw in
      hummingbird) [ "$hummingbird" -gt 0 ] && build hummingbird-samples ;;
      vapor) [ "$vapor" -gt 0 ] && build vapor-samples ;;
      *) echo "unknown framework $fw (hummingbird or vapor)" >&2; exit 2 ;;
    esac
  done
else
  echo "== doc samples: Hummingbird ($hummingbird) and Vapor ($vapor) samples not built; run with --frameworks"
fi
[ $status -eq 0 ] && echo "== doc samples: all checked samples compile"
exit $status
