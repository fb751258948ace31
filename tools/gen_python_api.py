#!/usr/bin/env python3
"""tools/gen_python_api.py [--check] [--cc CC] [--header trainopt.h] [--out python/trainopt/_api.py]

Writes python/trainopt/_api.py, the Python package's view of the C API, from the
packed trainopt.h through the C preprocessor, so that nothing in Python mirrors a
struct or a prototype by hand:

  CDEF      the public types and prototypes, preprocessed (cffi's cdef input);
  KERNELS   (family, name) for every row of TRAINOPT_KERNELS, in list order;
  PARAMS    each kernel's parameter names and C types, in order;
  DEFAULTS  every TRAINOPT_<NAME>_DEFAULTS initializer (keyed "<name>") and every
            TRAINOPT_<NAME>_INIT (keyed "<name>_init") as a Python list or dict
            (enum constants resolved, NAN as float('nan'), NULL as None);
  VERSION   TRAINOPT_VERSION_MAJOR.MINOR.PATCH.

The system headers trainopt.h includes (stddef.h, stdint.h, math.h) are replaced by
empty stubs: cffi knows size_t and the intN_t types itself, and the declarations need
nothing else. --check writes nothing and fails when the committed file differs from a
fresh generation (python/tests run it). `make python` regenerates it.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

import cffi
from pycparser import c_ast, c_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAN_TOKEN = "trainopt__py_nan"
NULL_TOKEN = "trainopt__py_null"
KERNEL_MARK = "trainopt__py_kernel"
DEFAULTS_MARK = "trainopt__py_defaults"


def preprocess(cc, header, extra):
    """The header through cc -E with stub system headers, plus EXTRA appended."""
    with tempfile.TemporaryDirectory() as stubs:
        stub_text = {"stddef.h": "#define NULL %s\n" % NULL_TOKEN, "stdint.h": "", "math.h": "#define NAN %s\n" % NAN_TOKEN}
        for name, text in stub_text.items():
            with open(os.path.join(stubs, name), "w") as f:
                f.write(text)
        unit = os.path.join(stubs, "unit.c")
        with open(unit, "w") as f:
            f.write('#include "%s"\n%s\n' % (os.path.abspath(header), extra))
        out = subprocess.run([cc, "-E", "-P", "-nostdinc", "-I", stubs, unit], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out


def kernel_rows(cc, header):
    """(family, name) for each row of TRAINOPT_KERNELS, expanded by the preprocessor."""
    text = preprocess(cc, header, "#define TOPY_ROW(family, ret, name, params, args) %s(family, name)\n"
                      "TRAINOPT_KERNELS(TOPY_ROW)" % KERNEL_MARK)
    return re.findall(KERNEL_MARK + r"\((\w+), (\w+)\)", text)


def param_lists(cdef):
    """{kernel name: [(C type, parameter name), ...]} from the prototypes, through pycparser."""
    prelude = "".join("typedef int %s;\n" % t for t in ("size_t", "int64_t", "uint64_t", "int32_t", "uint32_t",
                                                          "uint8_t", "uint16_t", "int8_t", "int16_t"))
    ast = c_parser.CParser().parse(prelude + cdef)
    params = {}
    for node in ast.ext:
        if not isinstance(node, c_ast.Decl) or not isinstance(node.type, c_ast.FuncDecl):
            continue
        name = node.name
        plist = node.type.args.params if node.type.args else []
        rows = []
        for p in plist:
            if isinstance(p, c_ast.Typename):  # (void)
                continue
            rows.append((type_text(p.type), p.name))
        params[name] = rows
    return params


def type_text(t):
    """A parameter's type as C text, e.g. 'const float *', 'float *const *', 'int64_t'."""
    if isinstance(t, c_ast.PtrDecl):
        inner = type_text(t.type)
        return inner + (" *const" if "const" in t.quals else " *")
    if isinstance(t, c_ast.TypeDecl):
        quals = "const " if "const" in t.quals else ""
        base = t.type
        if isinstance(base, c_ast.IdentifierType):
            return quals + " ".join(base.names)
        if isinstance(base, c_ast.Struct):
            return quals + "struct " + base.name
        if isinstance(base, c_ast.Enum):
            return quals + "enum " + base.name
    raise ValueError("unsupported parameter type %r" % (t,))


TOKEN = re.compile(r"\s*(?:(?P<num>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[uUlLfF]*|\.(?P<field>\w+)\s*="
                   r"|(?P<sign>-)?(?P<name>\w+)|(?P<punct>[{},]))")


def initializer_to_python(text, constants):
    """A C initializer such as {1e-3, 0.9, TRAINOPT_ANNEAL_COS, NAN} as a Python literal:
    a list, or a dict where the fields are designated (.lr = 1e-3)."""
    tokens, pos, text = [], 0, text.strip().replace("(", " ").replace(")", " ")
    while pos < len(text.rstrip()):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("cannot read the initializer %r at %r" % (text, text[pos:]))
        pos = m.end()
        tokens.append(m)

    def value(i):
        m = tokens[i]
        if m.group("punct") == "{":
            items, fields, i = [], [], i + 1
            while tokens[i].group("punct") != "}":
                field = None
                if tokens[i].group("field"):
                    field, i = tokens[i].group("field"), i + 1
                item, i = value(i)
                items.append(item)
                fields.append(field)
                if tokens[i].group("punct") == ",":
                    i += 1
            if any(fields):
                return "{%s}" % ", ".join("%r: %s" % (f, v) for f, v in zip(fields, items)), i + 1
            return "[%s]" % ", ".join(items), i + 1
        if m.group("num"):
            num = m.group("num")
            return (repr(float(num)) if re.search(r"[.eE]", num) else str(int(num))), i + 1
        if m.group("name"):
            sign, word = m.group("sign") or "", m.group("name")
            if word == NAN_TOKEN:
                return sign + "float('nan')", i + 1
            if word in constants:
                return ("None" if constants[word] is None else sign + str(constants[word])), i + 1
            raise ValueError("unknown name %r in the initializer %r" % (word, text))
        raise ValueError("unexpected %r in the initializer %r" % (m.group(0), text))

    literal, end = value(0)
    if end != len(tokens):
        raise ValueError("trailing text in the initializer %r" % text)
    return literal


def defaults(cc, header, cdef):
    text = open(header).read()
    names = sorted(set(re.findall(r"#\s*define\s+TRAINOPT_(\w+)_DEFAULTS\b", text)))
    inits = sorted(set(re.findall(r"#\s*define\s+TRAINOPT_(\w+_INIT)\b", text)))
    extra = "\n".join("%s %s TRAINOPT_%s_DEFAULTS" % (DEFAULTS_MARK, n, n) for n in names)
    extra += "\n" + "\n".join("%s %s TRAINOPT_%s" % (DEFAULTS_MARK, n, n) for n in inits)
    text = preprocess(cc, header, extra)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    constants = {}
    for enum_type in re.findall(r"\benum(?:\s+\w+)?\s*\{[^}]*\}\s*(\w+)\s*;", cdef):
        constants.update(ffi.typeof(enum_type).relements)
    constants[NULL_TOKEN] = None
    result = {}
    for name, init in re.findall(DEFAULTS_MARK + r" (\w+) (.*)", text):
        result[name.lower()] = initializer_to_python(init, constants)
    return result


def generate(cc, header):
    cdef = preprocess(cc, header, "")
    cdef = "\n".join(line for line in cdef.splitlines() if line.strip())
    version = ".".join(re.search(r"#define TRAINOPT_VERSION_%s (\d+)" % part, open(header).read()).group(1)
                       for part in ("MAJOR", "MINOR", "PATCH"))
    rows = kernel_rows(cc, header)
    params = param_lists(cdef)
    missing = ["trainopt_" + name for _, name in rows if "trainopt_" + name not in params]
    if missing:
        raise SystemExit("gen_python_api: no prototype for %s" % ", ".join(missing))
    lines = ['"""The C API as the Python package sees it. Generated by tools/gen_python_api.py',
             "from %s (make python); do not edit. python/tests check that it is current.\"\"\"" %
             os.path.basename(header), "", "VERSION = %r" % version, "",
             'CDEF = r"""', cdef, '"""', "", "# (family, name without trainopt_) for each row of TRAINOPT_KERNELS.",
             "KERNELS = ["]
    lines += ["    (%r, %r)," % row for row in rows]
    lines += ["]", "", "# Each kernel's parameters: (C type, name), in order.", "PARAMS = {"]
    for _, name in rows:
        lines.append("    %r: [%s]," % (name, ", ".join("(%r, %r)" % p for p in params["trainopt_" + name])))
    lines += ["}", "", "# TRAINOPT_<NAME>_DEFAULTS keyed by name in lower case, TRAINOPT_<NAME>_INIT by name_init.",
              "DEFAULTS = {"]
    for name, literal in sorted(defaults(cc, header, cdef).items()):
        lines.append("    %r: %s," % (name, literal))
    lines += ["}", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    ap.add_argument("--header", default=os.path.join(ROOT, "trainopt.h"))
    ap.add_argument("--out", default=os.path.join(ROOT, "python", "trainopt", "_api.py"))
    args = ap.parse_args()
    text = generate(args.cc, args.header)
    if args.check:
        current = open(args.out).read() if os.path.exists(args.out) else ""
        if current != text:
            sys.exit("%s is stale: run make python (tools/gen_python_api.py) and commit it" % args.out)
        return
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
