#!/usr/bin/env bash
# apikey.sh RUNDIR add|remove|list [NAME] - the named client API keys of the
# public API (the services declared `auth api_key`)
# (CONTRACT §2; docs/operations.md "Client API keys").
#
#   add NAME     makes a new random key, prints it once on stdout (the only
#                time it is shown) and records its SHA-256 digest under NAME
#   remove NAME  forgets the key named NAME (revocation)
#   list         the names, "default" (API_KEY of stack.env) first
#
# RUNDIR/secrets/api_keys holds "<name> <sha256 hex>" lines, digests only;
# a service of auth api_key reads them with API_KEY as "default" at its
# next start (service_credentials in lib.sh): restart it to apply a change.
# NAME is 1-64 of [A-Za-z0-9._-].

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

usage() { die "usage: apikey.sh RUNDIR add|remove NAME | list"; }
[ $# -ge 2 ] || usage
R=$(rundir "$1"); cmd=$2; name=${3:-}
f=$R/secrets/api_keys
# The services that take the client keys (their declarations' auth).
API_SERVICES=$(for n in $SERVICES_DECLARED; do
	if [ "${DECL_auth[$n]}" = api_key ]; then printf '%s ' "$n"; fi; done)
API_SERVICES=${API_SERVICES% }

valid() {
	case "$name" in ''|*[!A-Za-z0-9._-]*) die "bad name: '$name'" ;; esac
	[ ${#name} -le 64 ] || die "bad name: '$name' (more than 64 characters)"
	[ "$name" != default ] || die "'default' is API_KEY (secrets/api_key)"
}

known() { [ -f "$f" ] && awk -v n="$1" '$1 == n { f = 1 } END { exit !f }' "$f"; }

(umask 077 && mkdir -p "$R/secrets")
# Serialise concurrent changes.
exec 9>"$R/secrets/.api_keys.lock"
flock 9

case "$cmd" in
add)
	[ $# -eq 3 ] || usage
	valid
	! known "$name" || die "a key named '$name' exists (remove it first)"
	key=$(gen_secret)
	d=$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)
	(umask 077 && printf '%s %s\n' "$name" "$d" >>"$f")
	chmod 0600 "$f"
	log "added '$name'; restart $API_SERVICES to apply"
	printf '%s\n' "$key"
	;;
remove)
	[ $# -eq 3 ] || usage
	valid
	known "$name" || die "no key named '$name'"
	tmp=$(umask 077 && mktemp "$f.XXXXXX")
	awk -v n="$name" '$1 != n' "$f" >"$tmp"
	mv "$tmp" "$f"
	log "removed '$name'; restart $API_SERVICES to apply"
	;;
list)
	[ $# -eq 2 ] || usage
	echo default
	if [ -f "$f" ]; then awk '$1 !~ /^#/ && NF { print $1 }' "$f"; fi
	;;
*)	usage ;;
esac
