"""The file-level import graph of the crate's src/, and its circles: files that import one
another, directly or round a loop. A name a `mod.rs` re-exports counts as an import of the file
that defines it. A module's use of its own child modules is the tree itself, not an import that
can close a circle (a `mod.rs` puts its children together, and they use the types it defines);
circles among siblings and cousins are what this finds. Exits 1 when there is one, naming its
files and their imports.

Usage: python3 .ci/import_circles.py [SRC]   (SRC defaults to src)

The binary's own root (`main.rs`) and `src/bin/` are crates of their own and left out; `cli/`
is the binary's module tree and is read like the rest (its `crate::` means the binary).
"""
import glob
import os
import re
import sys


def module_path(root, file):
    """`src/checks/ctx.rs` -> ('checks', 'ctx'); `src/checks/mod.rs` -> ('checks',)."""
    parts = os.path.relpath(file, root)[: -len(".rs")].split("/")
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def descends(module, ancestor):
    """Whether `module` is `ancestor` or inside it."""
    return module[: len(ancestor)] == ancestor


def code(text):
    """The text without its tests, comments and visibility paths (`pub(super)` is no import)."""
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests \{.*", "", text, flags=re.S)
    text = re.sub(r"pub\((?:super|crate|in [^)]*)\)", "pub", text)
    return re.sub(r"//[^\n]*", "", text)


def graph(root):
    files = [
        f
        for f in glob.glob(os.path.join(root, "**", "*.rs"), recursive=True)
        if os.path.relpath(f, root) != "main.rs" and not os.path.relpath(f, root).startswith("bin/")
    ]
    by_path = {module_path(root, f): f for f in files}
    sources = {f: code(open(f, encoding="utf-8").read()) for f in files}
    reexports = {}
    for file, text in sources.items():
        here = module_path(root, file)
        for found in re.finditer(r"pub(?:\([a-z]+\))? use (\w+)::(\{[^}]*\}|\w+)", text):
            for name in re.findall(r"\w+", found.group(2)):
                if name != "self":
                    reexports[(here, name)] = here + (found.group(1),)

    def resolve(path, parts):
        path = list(path)
        for part in parts:
            if part == "super":
                path = path[:-1]
            elif part == "self":
                continue
            elif tuple(path + [part]) in by_path:
                path.append(part)
            else:
                target = reexports.get((tuple(path), part))
                if target in by_path:
                    path = list(target)
                break
        return by_path.get(tuple(path))

    edges = {f: set() for f in files}
    for file, text in sources.items():
        here = module_path(root, file)
        # A re-export only names where an item lives; the files that use the item import it.
        text = re.sub(r"pub use [^;]*;", "", text)
        # `crate::…`, `super::…`, and a path into one of this file's own child modules.
        for found in re.finditer(r"(?<![\w:])((?:\w+)(?:::(?!\{)\w+)*)(?:::\{([^}]*)\})?", text):
            parts = found.group(1).split("::")
            if parts[0] == "crate":
                base, parts = (), parts[1:]
            elif parts[0] == "super" or (len(parts) > 1 or found.group(2)) and here + (parts[0],) in by_path:
                base = here
            else:
                continue
            names = [
                n.strip().split("::")[0].split(" ")[0]
                for n in (found.group(2) or "").split(",")
                if n.strip()
            ] or [None]
            for name in names:
                target = resolve(base, parts + ([name] if name and name != "self" else []))
                if target and target != file and not descends(module_path(root, target), here):
                    edges[file].add(target)
    return edges


def circles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    sys.setrecursionlimit(10000)
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main():
    edges = graph(sys.argv[1] if len(sys.argv) > 1 else "src")
    found = circles(edges)
    for component in found:
        print("circle:", ", ".join(component))
        for file in component:
            print("   ", file, "imports", ", ".join(sorted(t for t in edges[file] if t in component)))
    print(f"{len(edges)} files, {len(found)} circles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
