#!/usr/bin/env python3
"""File-level import cycles in a Rust source tree: pairs of files that import each other.

Usage: python3 scripts/import-cycles.py engine/src   (exit status 1 if there is a pair)

An import is any `use` of, or path through, `crate::`, `super::`, `self::` or a child module
(`mod.rs` re-exporting `child::X` imports `child.rs`), resolved to the file that defines the
longest matching module path. Paths inside inline modules (`mod tests { use super::*; }`)
are resolved from that module. Comments, doc links included, are ignored.
"""
import os,re,sys
root=sys.argv[1]  # e.g. engine/src
files={}
for dp,dn,fn in os.walk(root):
    for f in fn:
        if f.endswith('.rs'):
            files[os.path.join(dp,f)]=None
def modpath(f):
    rel=os.path.relpath(f,root)[:-3].split('/')
    if rel[-1] in ('mod','lib','main'): rel=rel[:-1]
    return rel
mods={tuple(modpath(f)):f for f in files}
def resolve(path):
    # longest prefix that is a module file
    for i in range(len(path),-1,-1):
        if tuple(path[:i]) in mods: return mods[tuple(path[:i])]
def strip_comments(src):
    out=[]
    for l in src.split('\n'):
        s=l.strip()
        if s.startswith('//'): continue
        out.append(l)
    return '\n'.join(out)
def expand(tree):
    # tree: use tree string without 'use' and ';'
    tree=tree.strip()
    res=[]
    def rec(prefix,t):
        t=t.strip()
        if not t: return
        m=re.match(r'^([\w:]*?)(::)?\{(.*)\}$',t,re.S)
        if m and t.endswith('}'):
            pre=m.group(1)
            inner=m.group(3)
            parts=[];depth=0;cur=''
            for ch in inner:
                if ch=='{':depth+=1
                if ch=='}':depth-=1
                if ch==',' and depth==0: parts.append(cur);cur=''
                else: cur+=ch
            parts.append(cur)
            np=prefix+[x for x in pre.split('::') if x]
            for p in parts: rec(np,p)
        else:
            t=re.sub(r'\s+as\s+\w+$','',t)
            res.append(prefix+[x for x in t.split('::') if x])
    rec([],tree)
    return res
edges=set()
for f in files:
    src=strip_comments(open(f).read())
    me=modpath(f)
    # inline mod tests etc: ignore nesting (approximate)
    # inline module blocks: (start,end)
    blocks=[]
    for m in re.finditer(r'\bmod\s+\w+\s*\{',src):
        i=m.end();d=1
        while d and i<len(src):
            if src[i]=='{':d+=1
            elif src[i]=='}':d-=1
            i+=1
        blocks.append((m.start(),i))
    def depth(pos): return sum(1 for a,b in blocks if a<=pos<b)
    paths=[]
    for m in re.finditer(r'\buse\s+([^;]+);',src):
        dd=depth(m.start())
        for p in expand(m.group(1)):
            if p and p[0]=='super' and dd:
                p=p[dd:] if all(x=='super' for x in p[:dd]) else p
                p=['self']+p if p and p[0]!='super' else p
            paths.append(p)
    for m in re.finditer(r'\b(crate|super|self)((?:::\w+)+)',src):
        p=[m.group(1)]+m.group(2).split('::')[1:]
        dd=depth(m.start())
        if p[0]=='super' and dd:
            p=['self']+p[dd:] if all(x=='super' for x in p[:dd]) else p
        paths.append(p)
    for p in paths:
        if p and p[0] not in ('crate','super','self') and tuple(me+[p[0]]) in mods:
            p=['self']+p
        if not p: continue
        if p[0]=='crate': full=p[1:]
        elif p[0]=='super':
            base=me[:]
            # file-level super: module containing this file
            q=p[:]
            while q and q[0]=='super':
                base=base[:-1]; q=q[1:]
            full=base+q
        elif p[0]=='self': full=me+p[1:]
        else: continue
        t=resolve(full)
        if t and t!=f: edges.add((f,t))
cyc=sorted({tuple(sorted((a,b))) for a,b in edges if (b,a) in edges})
for a,b in cyc: print(a,'<->',b)
print(len(cyc), "cycles")
sys.exit(1 if cyc else 0)
