#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with starting inputs for libFuzzer: the project's own seeds
# in fuzz/seeds/, saved crash inputs in fuzz/regressions/, and the shared .eml and .ics
# corpora that sit beside the repository (../shared/corpus, as in CI).
#
# Usage: fuzz/seed-corpus.sh [CORPUS_ROOT]   (default: the shared corpora beside the repo)
set -euo pipefail
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
shared="${1:-$fuzz_dir/../../shared/corpus}"
out="$fuzz_dir/corpus"

# Catalog order of the tools; the tool_arguments target picks a tool by its first byte.
# The replay test checks that the seed directories name real tools. The fuzz build has no
# gmail-send feature, so gmail_send_message and gmail_send_draft are not in its catalog.
tools=(gmail_search_messages gmail_get_message gmail_get_thread gmail_list_labels
       gmail_get_attachment gmail_modify_labels gmail_trash_message gmail_untrash_message
       gmail_create_label gmail_create_draft gmail_update_draft gmail_list_drafts
       gmail_delete_draft gmail_reply gmail_forward calendar_list_calendars calendar_list_events
       calendar_get_event calendar_query_freebusy calendar_find_free_slots
       calendar_create_event calendar_update_event calendar_delete_event
       calendar_respond_to_event hub_status)

# copy_dir SOURCE TARGET: copies every file under SOURCE into corpus/TARGET, flattening
# paths so that files of the same name in different folders do not collide.
copy_dir() {
    local source=$1 target=$2
    [[ -d $source ]] || return 0
    mkdir -p "$out/$target"
    while IFS= read -r -d '' file; do
        local relative=${file#"$source"/}
        cp "$file" "$out/$target/${relative//\//_}"
    done < <(find "$source" -type f ! -name 'LICENSE*' -print0)
}

for seeds in "$fuzz_dir"/seeds/*/ "$fuzz_dir"/regressions/*/; do
    [[ -d $seeds ]] || continue
    target=$(basename "$seeds")
    case $target in
        tool_arguments | google_error) ;; # need a binary prefix, handled below
        *) copy_dir "${seeds%/}" "$target" ;;
    esac
done

if [[ -d $shared ]]; then
    copy_dir "$shared/eml" eml
    copy_dir "$shared/ics" ics
else
    echo "note: $shared not found; eml and ics get only the project's seeds" >&2
fi

# tool_arguments: one byte, the tool's index, then the JSON arguments.
mkdir -p "$out/tool_arguments"
for index in "${!tools[@]}"; do
    for dir in "$fuzz_dir/seeds/tool_arguments/${tools[$index]}" \
               "$fuzz_dir/regressions/tool_arguments/${tools[$index]}"; do
        [[ -d $dir ]] || continue
        for file in "$dir"/*; do
            { printf "\\x$(printf %02x "$index")"; cat "$file"; } \
                >"$out/tool_arguments/${tools[$index]}-$(basename "$file")"
        done
    done
done

# google_error: the status as two big-endian bytes, then the body. Seed files are named
# <status>-<case>.
mkdir -p "$out/google_error"
for dir in "$fuzz_dir/seeds/google_error" "$fuzz_dir/regressions/google_error"; do
    [[ -d $dir ]] || continue
    for file in "$dir"/*; do
        name=$(basename "$file")
        status=${name%%-*}
        [[ $status =~ ^[0-9]+$ ]] || continue
        { printf "\\x$(printf %02x $((status >> 8)))\\x$(printf %02x $((status & 255)))"; cat "$file"; } \
            >"$out/google_error/$name"
    done
done

for dir in "$out"/*/; do
    echo "$(basename "$dir"): $(find "$dir" -type f | wc -l) files"
done
