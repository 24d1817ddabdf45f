#!/usr/bin/env bats
# Listings cut by size (cluster-protocol(7), QUERY "limit"; cluster-ctl(1),
# Listings): a page holds at most half a record of items (512 KiB as
# compact JSON, STATE_BYTES of bin/offerd/query.c) whatever its count
# (the item that would pass it starts the next page), names in "next"
# where the following one starts, and cluster-ctl asks page after page
# until the listing is whole.  Agents whose attributes are long make
# every item near 1 KiB, so 1200 of them are cut by bytes, not by the
# 1000 items of a page.

load helper

EMU=$TOP/build/bench/agent-emu
NAGENTS=1200
HALF_RECORD=524288

setup() {
	setup_tmp
	start_daemon offerd offerd -d -v -w "$TMP/master"
	wait_for 15 grep -q 'listening on' "$TMP/offerd.log"
	# 700 bytes of attributes each: about 950 bytes per listed agent
	note=$(head -c 680 /dev/zero | tr '\0' n)
	start_daemon emu "$EMU" -d -N emu -R 'cpus:2;mem:1024' \
	    -a "rack:r%{i%10};note:$note" "$NAGENTS"
	wait_for 60 sh -c "[ \"\$(cluster-ctl -h -o agent_id agents | wc -l)\" -ge $NAGENTS ]"
}
teardown() { dump_logs; teardown_daemons; cleanup_tmp; }

# page QUERY-JSON: the master's answer to one QUERY, as JSON.
page() {
	echo "$1" | cluster-ctl send --wait=2s | grep '"type":"STATE"' | head -1
}

# bytes PAGE: the compact JSON size of each item of PAGE, one a line.
bytes() {
	echo "$1" | jq '.items[] | tojson | length'
}

@test "a listing over 512 KiB: the first answer is cut by bytes with its next, cluster-ctl prints it whole, each agent once" {
	p=$(page '{"type":"QUERY","what":"agents"}')
	n=$(echo "$p" | jq '.items | length')
	echo "first page: $n items"
	# cut by bytes: fewer than a page's 1000 items, at most half a
	# record of them, and the next item would not have fitted
	[ "$n" -gt 1 ]
	[ "$n" -lt 1000 ]
	total=$(bytes "$p" | awk '{ s += $1 } END { print s }')
	echo "first page: $total bytes of items"
	[ "$total" -le "$HALF_RECORD" ]
	# the marker: where the next page starts, the last key of this one
	next=$(echo "$p" | jq -r .next)
	[ "$next" = "$(echo "$p" | jq -r '.items[-1].agent_id')" ]
	[ "$(echo "$p" | jq -r .after)" = null ]
	# the second page starts after it, repeats it, and is cut too
	p2=$(page "{\"type\":\"QUERY\",\"what\":\"agents\",\"after\":\"$next\"}")
	[ "$(echo "$p2" | jq -r .after)" = "$next" ]
	[ "$(echo "$p2" | jq -r '.items[0].agent_id')" \> "$next" ]
	[ "$(echo "$p2" | jq -r .next)" != null ]
	first=$(bytes "$p2" | head -1)
	echo "the second page's first item: $first bytes"
	[ $((total + first)) -gt "$HALF_RECORD" ]
	[ "$(bytes "$p2" | awk '{ s += $1 } END { print s }')" -le "$HALF_RECORD" ]
	# a small limit cuts first: no byte cut, the count rules
	p3=$(page '{"type":"QUERY","what":"agents","limit":3}')
	[ "$(echo "$p3" | jq '.items | length')" -eq 3 ]
	# cluster-ctl follows every next: each agent once, in key order
	run cluster-ctl -h -o agent_id,hostname agents
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$NAGENTS" ]
	[ "$(echo "$output" | awk '{ print $2 }' | sort -u | wc -l)" -eq "$NAGENTS" ]
	[ "$(echo "$output" | awk '{ print $1 }' | LC_ALL=C sort -c && echo sorted)" = sorted ]
	# in JSON too, with every attribute whole
	run cluster-ctl -o json agents
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq "$NAGENTS" ]
	[ "$(echo "$output" | jq -r .attributes | awk '{ print length }' | sort -u)" = "$(echo "$p" | jq -r '.items[0].attributes | length')" ]
}
