#!/bin/bash
# The man pages render without a groff or man warning, have their sections, and cannot drift
# from the code: every module argument module_options.c accepts, every key and Snyk region
# provider_config.c knows, and every command, option, exit code and environment variable of
# oauth-keyring (from its --help and its source, cli/*.c) must be documented in the page's own
# section.
set -u
. "${top_srcdir:-.}/tests/lib.sh"

require_tools man groff
MAN_DIR="$top_srcdir/man"
PAM_PAGE="$MAN_DIR/pam_oauth_keyring.8"
CONF_PAGE="$MAN_DIR/pam_oauth_keyring.conf.5"
CLI_PAGE="$MAN_DIR/oauth-keyring.1"
CLI="$top_builddir/cli/oauth-keyring"
[ -x "$CLI" ] || fail "oauth-keyring is not built"
make_workdir

# --- 1. each page renders, with every groff warning on, and nothing on stderr -------------
render() { # render PAGE -> $WORK/NAME.txt
    local name
    name=$(basename "$1")
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$1" \
        >"$WORK/$name.txt" 2>"$WORK/$name.err" || fail "man -l $1 failed: $(cat "$WORK/$name.err")"
    [ ! -s "$WORK/$name.err" ] || fail "$1 renders with warnings: $(cat "$WORK/$name.err")"
    [ "$(wc -l <"$WORK/$name.txt")" -gt 40 ] || fail "$1 rendered to almost nothing"
    # man strips formatting when writing to a file; plain text from here on.
    sed -i 's/.\x08//g' "$WORK/$name.txt"
    echo "$WORK/$name.txt"
}
PAM_TEXT=$(render "$PAM_PAGE") || exit 1
CONF_TEXT=$(render "$CONF_PAGE") || exit 1
CLI_TEXT=$(render "$CLI_PAGE") || exit 1
note "1. three pages render with man --warnings=w, MANWIDTH=80, nothing on stderr"

# --- 2. the sections ---------------------------------------------------------------------
COMMON_SECTIONS=(NAME SYNOPSIS DESCRIPTION OPTIONS FILES EXAMPLES SECURITY "SEE ALSO")
require_sections() { # require_SECTIONS TEXT SECTION...
    local text=$1 section
    shift
    for section in "$@"; do
        grep -qx "$section" "$text" || fail "$(basename "$text" .txt) has no $section section"
    done
}
require_sections "$PAM_TEXT" "${COMMON_SECTIONS[@]}"
require_sections "$CONF_TEXT" "${COMMON_SECTIONS[@]}"
require_sections "$CLI_TEXT" "${COMMON_SECTIONS[@]}" "EXIT STATUS" ENVIRONMENT
note "2. every page has ${COMMON_SECTIONS[*]}; oauth-keyring(1) also EXIT STATUS, ENVIRONMENT"

# The lines of one section of a rendered page (from its heading to the next heading).
section() { # section TEXT HEADING
    awk -v heading="$2" '/^[A-Z][A-Z ]*$/ { inside = ($0 == heading); next } inside' "$1"
}
# Fails unless every name in the list (one per line) is an entry of the section: a line
# indented as a .TP tag (INDENT, a regular expression: 7 blanks unless given) that starts with
# the name, then "=", a blank or the line's end.
require_entries() { # require_entries WHAT TEXT HEADING NAMES [INDENT]
    local what=$1 text=$2 heading=$3 names=$4 tag_indent=' {7}' indent name body count=0
    indent=${5:-$tag_indent}
    body=$(section "$text" "$heading")
    [ -n "$body" ] || fail "$(basename "$text" .txt): empty $heading section"
    while read -r name; do
        [ -n "$name" ] || continue
        count=$((count + 1))
        grep -Eq "^$indent$(sed 's/[.[*^$]/\\&/g' <<<"$name")(=| |\$)" <<<"$body" ||
            fail "$what '$name' is not documented in $heading of $(basename "$text" .txt)"
    done <<<"$names"
    [ "$count" -gt 0 ] || fail "found no $what names to check (the extraction is broken)"
    echo "$count"
}
# Fails unless the extracted list holds a name it must hold: proves the extraction works.
require_known() { # require_known WHAT NAMES NAME...
    local what=$1 names=$2 name
    shift 2
    for name in "$@"; do
        grep -qx -- "$name" <<<"$names" || fail "extracting ${what}s found no '$name': $names"
    done
}

# --- 3. module arguments, from module_options.c ----------------------------------------------
arguments=$(grep -oE 'take_(flag|value)\(argv\[i\], "[a-z_]+=?"' "$top_srcdir/pam_module/module_options.c" |
    sed -E 's/.*"([a-z_]+)=?"$/\1/' | sort -u)
require_known "module argument" "$arguments" config debug only_if prompt
count=$(require_entries "module argument" "$PAM_TEXT" OPTIONS "$arguments") || exit 1
for value in missing always never; do # prompt='s values, from parse_prompt
    grep -q "strcmp(text, \"$value\")" "$top_srcdir/pam_module/module_options.c" ||
        fail "prompt=$value is no longer in module_options.c; update the page and this test"
    section "$PAM_TEXT" OPTIONS | grep -q "$value" || fail "prompt=$value is not documented"
done
note "3. all $count module arguments of module_options.c are in pam_oauth_keyring(8) OPTIONS"

# --- 4. configuration keys, regions and presets, from provider_config.c ------------------
CONFIG_SOURCE="$top_srcdir/pam_module/provider_config.c"
keys=$(grep -oE '\{"[a-z_]+", FIELD\(' "$CONFIG_SOURCE" | sed -E 's/\{"([a-z_]+)".*/\1/' | sort -u)
require_known "configuration key" "$keys" client_id token_url timeout
count=$(require_entries "configuration key" "$CONF_TEXT" OPTIONS "$keys") || exit 1
regions=$(grep -oE '\{"SNYK-[A-Z0-9-]+",' "$CONFIG_SOURCE" | sed -E 's/\{"([^"]+)",/\1/')
require_known "Snyk region" "$regions" SNYK-US-01
regions_count=$(require_entries "Snyk region" "$CONF_TEXT" OPTIONS "$regions" " +") || exit 1
presets=$(grep -oE 'strcmp\(config->preset, "[a-z]+"\)' "$CONFIG_SOURCE" | sed -E 's/.*"([a-z]+)".*/\1/')
require_known preset "$presets" snyk
while read -r preset; do
    section "$CONF_TEXT" OPTIONS | grep -qw "$preset" ||
        fail "preset '$preset' is not documented"
done <<<"$presets"
# (A justified line may have two blanks where the source has one.)
grep -qE 'Limits: +64 +KiB' "$CONF_TEXT" && grep -q 'CONFIG_MAX_FILE_SIZE (64 \* 1024)' \
    "$top_srcdir/pam_module/provider_config.h" || fail "the documented file size limit is not the code's"
note "4. all $count keys, $regions_count Snyk regions and the presets are in pam_oauth_keyring.conf(5)"

# --- 5. oauth-keyring: commands and options from --help, exit codes and variables from source
help=$("$CLI" --help 2>&1)
commands=$(sed -nE 's/^  ([a-z][a-z-]+)( .*)?$/\1/p' <<<"$help")
require_known command "$commands" token status env logout git-credential
count=$(require_entries command "$CLI_TEXT" DESCRIPTION "$commands") || exit 1
CLI_SOURCE="$top_srcdir/cli/oauth_keyring.c"
options=$({
    grep -oE -- '--[a-z][a-z-]+' <<<"$help"
    grep -oE '\{"[a-z][a-z-]+", (required|no)_argument' "$CLI_SOURCE" | sed -E 's/\{"([^"]+)".*/--\1/'
} | sort -u)
require_known option "$options" --service --min-valid --help
options_count=$(require_entries option "$CLI_TEXT" OPTIONS "$options") || exit 1
codes=$(grep -oE '^ *EXIT_[A-Z_]+ = [0-9]+,' "$CLI_SOURCE" | grep -oE '[0-9]+' | sort -u)
require_known "exit code" "$codes" 0 4
codes_count=$(require_entries "exit code" "$CLI_TEXT" "EXIT STATUS" "$codes") || exit 1
variables=$(cat "$top_srcdir"/cli/*.c | grep -oE 'getenv\("[A-Z_]+"\)' |
    sed -E 's/getenv\("([^"]+)"\)/\1/' | sort -u)
require_known "environment variable" "$variables" OAUTH_KEYRING_SERVICE BROWSER OAUTH_KEYRING_DESKTOP_SIGNIN
variables_count=$(require_entries "environment variable" "$CLI_TEXT" ENVIRONMENT "$variables") ||
    exit 1
note "5. oauth-keyring(1): $count commands, $options_count options, $codes_count exit codes, $variables_count variables"

# --- 6. make install puts them where man finds them ----------------------------------------
for page in oauth-keyring.1 pam_oauth_keyring.conf.5 pam_oauth_keyring.8; do
    grep -Eq "^dist_man_MANS.*man/$page|^[[:space:]]+man/$page" "$top_srcdir/Makefile.am" ||
        fail "man/$page is not in dist_man_MANS"
done
pass "man pages render cleanly, have their sections and document every argument, key and command"
