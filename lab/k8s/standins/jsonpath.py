"""kubectl's JSONPath template subset: {.a.b}, [n], [*], [a:b], ['key'], .., [?(@.x=="y")],
{range ...}{end}, quoted literals, escaped dots in keys (kubernetes\\.io/hostname)."""
import json
import re


class JSONPathError(Exception):
    pass


def _split_template(tmpl):
    """-> list of ('text', s) and ('expr', s)."""
    out, i, buf = [], 0, ""
    while i < len(tmpl):
        c = tmpl[i]
        if c == "{":
            if buf:
                out.append(("text", buf))
                buf = ""
            depth, j = 1, i + 1
            quote = None
            while j < len(tmpl) and depth:
                ch = tmpl[j]
                if quote:
                    if ch == "\\":
                        j += 1
                    elif ch == quote:
                        quote = None
                elif ch in "\"'":
                    quote = ch
                elif ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                j += 1
            if depth:
                raise JSONPathError("unclosed action")
            out.append(("expr", tmpl[i + 1:j - 1].strip()))
            i = j
        else:
            buf += c
            i += 1
    if buf:
        out.append(("text", buf))
    return out


def _tokens(expr):
    """Tokenise a path like .a.b[0]['x'][?(@.k=="v")]..c into steps."""
    steps = []
    i = 0
    if expr.startswith("$"):
        i = 1
    while i < len(expr):
        c = expr[i]
        if expr.startswith("..", i):
            i += 2
            m = re.match(r"((?:\\.|[^.\[\\])*)", expr[i:])
            name = m.group(1).replace("\\.", ".")
            steps.append(("recursive", name))
            i += len(m.group(1))
        elif c == ".":
            i += 1
            m = re.match(r"((?:\\.|[^.\[\\])*)", expr[i:])
            name = m.group(1).replace("\\.", ".")
            if name:
                steps.append(("field", name))
            i += len(m.group(1))
        elif c == "[":
            j = expr.index("]", i) if not expr.startswith("[?(", i) else _close_filter(expr, i)
            inner = expr[i + 1:j]
            i = j + 1
            if inner == "*":
                steps.append(("all", None))
            elif inner.startswith("?(") and inner.endswith(")"):
                steps.append(("filter", inner[2:-1]))
            elif inner[:1] in "'\"":
                for part in re.findall(r"'([^']*)'|\"([^\"]*)\"", inner):
                    steps.append(("field", part[0] or part[1]))
            elif ":" in inner:
                a, _, b = inner.partition(":")
                steps.append(("slice", (int(a) if a else None, int(b) if b else None)))
            else:
                try:
                    steps.append(("index", int(inner)))
                except ValueError:
                    raise JSONPathError("invalid array index %s" % inner)
        elif c in " \t":
            i += 1
        else:
            m = re.match(r"((?:\\.|[^.\[\\])*)", expr[i:])
            steps.append(("field", m.group(1).replace("\\.", ".")))
            i += len(m.group(1)) or 1
    return steps


def _close_filter(expr, i):
    depth = 0
    quote = None
    for j in range(i, len(expr)):
        ch = expr[j]
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0 and ch == "]":
                return j
    raise JSONPathError("unclosed filter")


def _eval_filter(cond, item):
    m = re.fullmatch(r"\s*@((?:\.[\w\-/\\.]+|\[[^\]]+\])*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*", cond)
    if not m:
        m2 = re.fullmatch(r"\s*@((?:\.[\w\-/\\.]+)*)\s*", cond)
        if m2:
            return bool(_walk([item], _tokens(m2.group(1))))
        raise JSONPathError("unrecognized filter %s" % cond)
    vals = _walk([item], _tokens(m.group(1)))
    lit = m.group(3)
    if lit[:1] in "'\"":
        want = lit[1:-1]
    else:
        try:
            want = json.loads(lit)
        except ValueError:
            want = lit
    op = m.group(2)
    for v in vals:
        if op == "==" and v == want:
            return True
        if op == "!=" and v != want:
            return True
        try:
            if op == "<" and v < want or op == ">" and v > want or op == "<=" and v <= want or op == ">=" and v >= want:
                return True
        except TypeError:
            pass
    return False


def _walk(cur, steps):
    for kind, arg in steps:
        nxt = []
        for v in cur:
            if kind == "field":
                if isinstance(v, dict) and arg in v:
                    nxt.append(v[arg])
            elif kind == "index":
                if isinstance(v, list):
                    if -len(v) <= arg < len(v):
                        nxt.append(v[arg])
                    else:
                        raise JSONPathError("array index out of bounds: index %d, length %d" % (arg, len(v)))
            elif kind == "slice":
                if isinstance(v, list):
                    nxt.extend(v[arg[0]:arg[1]])
            elif kind == "all":
                if isinstance(v, list):
                    nxt.extend(v)
                elif isinstance(v, dict):
                    nxt.extend(v.values())
            elif kind == "filter":
                if isinstance(v, list):
                    nxt.extend(i for i in v if _eval_filter(arg, i))
            elif kind == "recursive":
                nxt.extend(_recurse(v, arg))
        cur = nxt
    return cur


def _recurse(v, name):
    out = []
    if isinstance(v, dict):
        if name and name in v:
            out.append(v[name])
        for x in v.values():
            out.extend(_recurse(x, name))
    elif isinstance(v, list):
        for x in v:
            out.extend(_recurse(x, name))
    return out


def _fmt(v):
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return ""
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def _literal(expr):
    s = expr[1:-1]
    return s.encode().decode("unicode_escape")


def render(template, data):
    parts = _split_template(template)
    out, _ = _render(parts, 0, [data], data)
    return out


def _render(parts, i, ctx_stack, root):
    out = ""
    while i < len(parts):
        kind, s = parts[i]
        if kind == "text":
            out += s
            i += 1
            continue
        if s == "end":
            return out, i + 1
        if s.startswith("range "):
            items = _walk([ctx_stack[-1] if not s[6:].strip().startswith("$") else root], _tokens(s[6:].strip()))
            # find the body
            body_start = i + 1
            depth, j = 1, body_start
            while j < len(parts):
                if parts[j][0] == "expr" and parts[j][1].startswith("range "):
                    depth += 1
                elif parts[j][0] == "expr" and parts[j][1] == "end":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            body = parts[body_start:j]
            for item in items:
                o, _ = _render(body, 0, ctx_stack + [item], root)
                out += o
            i = j + 1
            continue
        if s[:1] in "'\"" and s[-1:] == s[:1]:
            out += _literal(s)
            i += 1
            continue
        base = root if s.startswith("$") else ctx_stack[-1]
        if s == "@" or s == "":
            vals = [ctx_stack[-1]]
        else:
            vals = _walk([base], _tokens(s))
        out += " ".join(_fmt(v) for v in vals)
        i += 1
    return out, i
