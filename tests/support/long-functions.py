#!/usr/bin/env python3
"""Lists functions in src/ longer than a limit (default 120 lines), by brace
matching from each `fn` line with strings, raw strings, char literals and
comments blanked first. Exit status 1 when any is found."""
import pathlib, re, sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 120
FN = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)')
TOKEN = re.compile(
    r'//[^\n]*'                       # line comment
    r'|/\*.*?\*/'                     # block comment (not nested: enough here)
    r'|b?r(#*)"(?:.|\n)*?"\1'          # raw string
    r'|b?"(?:\\.|\\\n|[^"\\])*"'      # string, continuation lines included
    r"|b?'(?:\\.|[^'\\])'",           # char literal (lifetimes do not match)
    re.S)

def blank(text):
    # Keep newlines so line numbers hold; everything else in a token becomes a space.
    return TOKEN.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)

found = []
for path in sorted(pathlib.Path('src').rglob('*.rs')):
    text = path.read_text()
    lines, code = text.splitlines(), blank(text).splitlines()
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, opened, j = 0, False, i
        while j < len(code):
            t = code[j]
            if not opened and ';' in t and '{' not in t:
                break  # a declaration without body
            depth += t.count('{') - t.count('}')
            opened = opened or '{' in t
            if opened and depth <= 0:
                break
            j += 1
        n = j - i + 1
        if opened and n > LIMIT:
            found.append((n, f'{path}:{i + 1}', m.group(6)))
for n, where, name in sorted(found, reverse=True):
    print(f'{n:5} {where} {name}')
sys.exit(1 if found else 0)
