#!/bin/sh
# The compose lab's publisher: makes sure the topic exists, then publishes the
# example incidents again and again. Runs in the gridlink image.
#
#   publisher-loop.sh [GLOBAL GRIDLINK OPTIONS...]
#   GRIDLINK_TOPIC     topic (pubsub node) to publish to   (default: incidents)
#   PUBLISH_INTERVAL   seconds between rounds               (default: 5)
#   EXAMPLES_DIR       directory of *.xml IODEF documents   (default: /examples)
set -eu

topic=${GRIDLINK_TOPIC:-incidents}
interval=${PUBLISH_INTERVAL:-5}
dir=${EXAMPLES_DIR:-/examples}

# "$@": the global gridlink options, passed to every gridlink call.
count() {
    n=0
    for f in "$dir"/*.xml; do
        [ -f "$f" ] && n=$((n + 1))
    done
}
count
if [ "$n" -eq 0 ]; then
    echo "publisher-loop: no *.xml in $dir" >&2
    exit 1
fi

echo "publisher-loop: ensuring topic $topic"
gridlink "$@" topic ensure "$topic"
# The topic is whitelist (RFC 8600 §8.3.4): grant the lab's consumers and the
# bridge (which publishes what is POSTed to it) their affiliations.
for jid in ${ALLOW_MEMBERS:-}; do
    gridlink "$@" topic allow "$topic" "$jid" --as member
done
for jid in ${ALLOW_PUBLISHERS:-}; do
    gridlink "$@" topic allow "$topic" "$jid" --as publisher
done

round=0
while :; do
    round=$((round + 1))
    count
    echo "publisher-loop: round $round: publishing $n documents to $topic"
    # A failed round (e.g. Prosody restarting) is logged and retried next round.
    gridlink "$@" publish --topic "$topic" "$dir"/*.xml || echo "publisher-loop: round $round failed (exit $?)" >&2
    sleep "$interval"
done
