#!/usr/bin/env bats
# The manual pages: every program has one, each lints clean with mandoc,
# and each names every option its program accepts.

load helper

# The programs that must have a manual page.
PROGRAMS="offerd agentd drf-alloc task-launch cluster-ctl"

setup() { setup_tmp; }
teardown() { cleanup_tmp; }

# page_of NAME: print the manual page of NAME in man/; false when none.
page_of() {
	local f
	for f in "$TOP"/man/"$1".[1-8]; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# documented: print every program of build/bin that has a page in man/.
documented() {
	local f name
	for f in "$TOP"/man/*.[1-8]; do
		[ -f "$f" ] || continue
		name=$(basename "$f"); name=${name%.*}
		[ -x "$TOP/build/bin/$name" ] && echo "$name"
	done
	return 0
}

# long_options PROG: the long options PROG accepts, one per line, from
# its usage output and from the struct option tables of bin/PROG/*.c.
long_options() {
	{
		"$TOP/build/bin/$1" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*'
		sed -nE 's/.*\{[[:space:]]*"([a-z][a-z0-9-]*)",[[:space:]]*(no|required|optional)_argument.*/--\1/p' \
		    "$TOP"/bin/"$1"/*.c
	} | sed 's/^--//' | sort -u
}

# short_options PROG: the letters of the short options in PROG's usage.
short_options() {
	"$TOP/build/bin/$1" --help 2>&1 |
	    grep -oE -- '(^|[[ |])-[A-Za-z0-9]+' | sed -E 's/^[[ |]?-//' |
	    fold -w1 | sort -u
}

# lacking KIND: each KIND (long or short) option of a documented program
# that its page does not name ("--name" in the rendered page, "Fl x" in
# its source), one "page lacks ..." line each; fails when no program
# has options to check.
lacking() {
	local p o page text mark end n=0
	for p in $(documented); do
		page=$(page_of "$p")
		case $1 in
		long) text=$(rendered "$page"); mark=--; end=A-Za-z0-9- ;;
		short) text=$(cat "$page"); mark="Fl "; end=A-Za-z0-9 ;;
		esac
		for o in $("$1_options" "$p"); do
			n=$((n + 1))
			grep -qE -- "$mark$o([^$end]|\$)" <<<"$text" ||
			    echo "$(basename "$page") lacks $mark$o"
		done
	done
	[ "$n" -gt 0 ]
}

# rendered PAGE: PAGE as plain text, on lines long enough not to break.
rendered() {
	mandoc -Tascii -Owidth=1000 "$1" 2>/dev/null | sed 's/.\x08//g'
}

# lint PAGE: mandoc's complaints about PAGE, less those that depend on
# what is installed on this machine: the pages of this project cannot be
# found before they are installed, and other pages may be missing here.
# A reference to a page of this project that does not exist stays.
lint() {
	local line ref
	mandoc -Tlint "$1" 2>&1 | grep -v 'outdated mandoc.db' |
	while IFS= read -r line; do
		case $line in
		*"referenced manual not found: Xr "*)
			ref=${line##*Xr }; ref=${ref% (*}	# "name sec"
			if [ -f "$TOP/man/${ref% *}.${ref#* }" ] ||
			    ! echo " $PROGRAMS cluster-protocol cluster-acl " |
			    grep -q " ${ref% *} "; then
				continue
			fi ;;
		esac
		echo "$line"
	done
}

@test "every program has its manual page" {
	local p missing=""
	for p in $PROGRAMS; do
		page_of "$p" >/dev/null || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "no manual page in man/ for:$missing"
		false
	fi
}

@test "the manual pages lint clean with mandoc" {
	command -v mandoc >/dev/null ||
	    skip "mandoc is not installed (make deps installs it)"
	local p f out bad=0
	for f in $(for p in $(documented); do page_of "$p"; done) \
	    "$TOP"/man/cluster-protocol.7 "$TOP"/man/cluster-acl.5; do
		[ -f "$f" ] || continue
		out=$(lint "$f")
		if [ -n "$out" ]; then
			echo "$out"
			bad=1
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "every long option of a program is in its manual page" {
	command -v mandoc >/dev/null ||
	    skip "mandoc is not installed (make deps installs it)"
	local out
	out=$(lacking long) || skip "no program in build/bin has a page yet"
	echo "$out"
	[ -z "$out" ]
}

@test "every short option in a program's usage is in its manual page" {
	local out
	out=$(lacking short) || skip "no program in build/bin has a page yet"
	echo "$out"
	[ -z "$out" ]
}

@test "each page's SYNOPSIS says what its program's usage says" {
	command -v mandoc >/dev/null ||
	    skip "mandoc is not installed (make deps installs it)"
	local p usage synopsis bad=0 n=0
	for p in $(documented); do
		n=$((n + 1))
		usage=$("$TOP/build/bin/$p" --help 2>&1 | sed 's/^usage: //' |
		    tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
		synopsis=$(rendered "$(page_of "$p")" |
		    sed -n '/^SYNOPSIS/,/^[A-Z]/p' | sed '1d;$d' |
		    tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
		if [ "$usage" != "$synopsis" ]; then
			echo "$p usage:    $usage"
			echo "$p SYNOPSIS: $synopsis"
			bad=1
		fi
	done
	[ "$n" -gt 0 ] || skip "no program in build/bin has a page yet"
	[ "$bad" -eq 0 ]
}
