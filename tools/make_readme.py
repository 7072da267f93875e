"""Render README.md from nbs/index.ipynb.

`nbdev_readme` does this with Quarto, which cannot be installed offline (its PyPI package downloads
the binary at build time). This renders the same content: markdown cells as they are, code cells as
```python blocks (cells flagged `#| hide` are left out, `#|` directives are dropped), text outputs as
plain blocks."""
import json, pathlib

root = pathlib.Path(__file__).resolve().parents[1]
nb = json.loads((root/'nbs'/'index.ipynb').read_text(encoding='utf-8'))
out = ['<!-- WARNING: generated from nbs/index.ipynb by tools/make_readme.py; edit the notebook, not this file -->', '']
for cell in nb['cells']:
    src = ''.join(cell['source'])
    if cell['cell_type'] == 'markdown':
        out += [src.strip(), '']
        continue
    lines = src.splitlines()
    directives = [l for l in lines if l.startswith('#|')]
    if any(d.replace(' ', '') in ('#|hide', '#|exporti', '#|export') for d in directives): continue
    code = '\n'.join(l for l in lines if not l.startswith('#|')).strip()
    if not code: continue
    out += ['```python', code, '```', '']
    for o in cell.get('outputs', []):
        text = ''.join(o.get('text', '') or o.get('data', {}).get('text/plain', ''))
        if text.strip(): out += ['```', text.rstrip(), '```', '']
(root/'README.md').write_text('\n'.join(out).rstrip() + '\n', encoding='utf-8')
