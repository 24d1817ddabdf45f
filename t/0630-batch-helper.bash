# examples/batch's tests (t/0630, t/0631): reading batch's output.

# placements_true: in $output, every "batch task=" line's host is where the master ran
# the task, and "local" is said exactly when the host's rack holds the data.
placements_true() {
	local tasks
	tasks=$(cluster-ctl -o json tasks)
	echo "$output" | grep '^batch task=' | while read -r _ t d h where; do
		t=${t#task=}; d=${d#data=r}; h=${h#host=host}
		echo "$tasks" | grep "\"task_id\":\"$t\"" | grep -q "\"hostname\":\"host$h\"" || return 1
		if [ "$d" = "$h" ]; then [ "$where" = local ]; else [ "$where" = nonlocal ]; fi || return 1
	done
}

# field NAME: the value of NAME= in the summary line.
field() {
	echo "$output" | grep '^batch tasks=' | sed "s/.* $1=\([0-9.]*\).*/\1/"
}
