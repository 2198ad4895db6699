#!/usr/bin/env bash
# env.sh RUNDIR
#
# Writes RUNDIR/stack.env (CONTRACT §1): shell-sourceable KEY=value lines with
# absolute paths: NAME_URL for each service of the one list (apps/*/
# service.decl), its port as lib.sh's load_decl says. Ports and the registry
# follow the environment (defaults as in the contract). DATABASE_URL is single-quoted because its '&' would
# otherwise end the assignment when the file is sourced; every other value is
# free of shell-special characters and left bare. The file holds secrets: 0600.

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

R=$(rundir "${1:-}")
[ -s "$R/pki/ca.pem" ] || die "no $R/pki/ca.pem (run pki.sh first)"

tmp=$(umask 077 && mktemp "$R/.stack.env.XXXXXX")
{
	for n in $SERVICES_DECLARED; do
		load_decl "$n"
		printf '%s_URL=https://127.0.0.1:%s\n' "$decl_stem" "$port"
	done
	cat <<ENV
CA_CERT=$R/pki/ca.pem
API_KEY=$(secret "$R" api_key)
SERVICE_TOKEN=$(secret "$R" service_token)
DATABASE_URL='$(admin_url "$R")'
REGISTRY=${REGISTRY:-127.0.0.1:5000}
ENV
} >"$tmp"
chmod 0600 "$tmp"
mv "$tmp" "$R/stack.env"
