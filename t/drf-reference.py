#!/usr/bin/env python3
"""A plain, slow DRF, to check drf-alloc's decisions against.

  drf-reference.py SEED     writes the scenario to SEED.in (drf-alloc's
                            input) and the decisions it expects to
                            SEED.expected ("framework agent resources")

A seeded random cluster: frameworks in roles of different weights, some
with a minimum of free cpus (so that the lowest framework is often passed
over), agents of several sizes; two cycles, the second after some agents
were given back, half of them declined (a decline filter on the manual
clock).  The reference keeps no heap: it sorts every candidate for every
agent, so it shares no code and no shortcut with drf.c.
"""
import json
import random
import sys

seed = int(sys.argv[1])
rng = random.Random(seed)
NAMES = ("cpus", "mem")

roles = {"r%d" % i: rng.choice((1, 1, 2, 3)) for i in range(4)}
fws = {}
for i in rng.sample(range(1000), 60):
    fws["fw-%03d" % i] = {
        "role": rng.choice(sorted(roles)),
        "min": rng.choice((0, 0, 0, 4, 8)),
        "alloc": [0, 0], "nalloc": 0, "refuse": set()}
agents = []
for i in range(500):
    cpus, mem = rng.choice(((2, 4096), (4, 8192), (8, 16384), (16, 8192)))
    agents.append({"id": "n%04d" % i, "free": [cpus, mem],
                   "total": [cpus, mem], "holder": None})
total = [sum(a["total"][k] for a in agents) for k in range(2)]

def dominant(v):
    return max(v[k] * 1000 / (total[k] * 1000) for k in range(2))

def role_alloc(r):
    v = [0, 0]
    for f in fws.values():
        if f["role"] == r:
            v[0] += f["alloc"][0]
            v[1] += f["alloc"][1]
    return v

role_nalloc = {r: 0 for r in roles}

def pick(a):
    """The framework agent A goes to, or None."""
    def ok(fid):
        f = fws[fid]
        return a["free"][0] >= f["min"] and a["id"] not in f["refuse"]
    order = sorted(roles, key=lambda r: (dominant(role_alloc(r)) / roles[r],
                                         role_nalloc[r], r))
    for r in order:
        cands = sorted((fid for fid in fws if fws[fid]["role"] == r and
                        ok(fid)), key=lambda fid: (dominant(fws[fid]["alloc"]),
                                                   fws[fid]["nalloc"], fid))
        if cands:
            return cands[0]
    return None

def cycle(out):
    for a in agents:
        if a["holder"] is not None or a["free"] == [0, 0]:
            continue
        fid = pick(a)
        if fid is None:
            continue
        f = fws[fid]
        for k in range(2):
            f["alloc"][k] += a["free"][k]
        f["nalloc"] += 1
        role_nalloc[f["role"]] += 1
        out.append("%s %s cpus:%d;mem:%d" % (fid, a["id"], a["free"][0],
                                             a["free"][1]))
        a["holder"] = fid
        a["free"] = [0, 0]

inp, exp = [], []
for r, w in sorted(roles.items()):
    inp.append({"type": "WEIGHT", "role": r, "weight": w})
for fid, f in fws.items():
    rec = {"type": "FRAMEWORK_ADD", "framework_id": fid, "role": f["role"]}
    if f["min"]:
        rec["filters"] = {"min": "cpus:%d" % f["min"]}
    inp.append(rec)
for a in agents:
    inp.append({"type": "AGENT_ADD", "agent_id": a["id"],
                "resources": "cpus:%d;mem:%d" % tuple(a["total"])})
inp.append({"type": "ALLOCATE"})
cycle(exp)
# give a fifth of the agents back, half of those declined
for a in rng.sample(agents, len(agents) // 5):
    if a["holder"] is None:
        continue
    f = fws[a["holder"]]
    rec = {"type": "RECOVER", "framework_id": a["holder"], "agent_id": a["id"],
           "resources": "cpus:%d;mem:%d" % tuple(a["total"])}
    if rng.random() < 0.5:
        rec["refuse_seconds"] = 60
        f["refuse"].add(a["id"])
    inp.append(rec)
    for k in range(2):
        f["alloc"][k] -= a["total"][k]
    a["holder"] = None
    a["free"] = list(a["total"])
inp.append({"type": "ALLOCATE"})
cycle(exp)

with open("%d.in" % seed, "w") as fp:
    for rec in inp:
        fp.write(json.dumps(rec, separators=(",", ":")) + "\n")
with open("%d.expected" % seed, "w") as fp:
    fp.write("".join(line + "\n" for line in exp))
