# Shared by scripts/test.sh and scripts/up.sh (sourced, not run): make sure
# the machine has what the product starts (MariaDB, Redis) and Go.
# Expects say() and die() from the caller.

# has finds a program on PATH or in the system directories an unprivileged
# PATH may lack (Debian installs mariadbd in /usr/sbin).
has() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /usr/bin/$1 ]]; }

# ensure_servers installs mariadb-server and redis-server with apt-get when
# their binaries are missing, saying so.
ensure_servers() {
	local missing=()
	has mariadbd && has mariadb-install-db || missing+=(mariadb-server)
	has redis-server || missing+=(redis-server)
	((${#missing[@]})) || return 0
	say "missing: ${missing[*]}; installing with apt-get"
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get not found; install ${missing[*]} with your package manager"
	local sudo=()
	if ((EUID != 0)); then
		command -v sudo >/dev/null 2>&1 || die "not root and no sudo; install ${missing[*]} as root"
		sudo=(sudo)
	fi
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	has mariadbd && has mariadb-install-db && has redis-server ||
		die "apt-get install ${missing[*]} did not provide mariadbd, mariadb-install-db and redis-server"
}

# ensure_go fails with a clear message when Go is not on PATH.
ensure_go() {
	if ! command -v go >/dev/null 2>&1; then
		local hint="install Go $(sed -n 's/^go //p' go.mod) or newer from https://go.dev/dl/ and put it on PATH"
		[[ -x /usr/local/go/bin/go ]] && hint="/usr/local/go/bin/go exists but is not on PATH; add /usr/local/go/bin to PATH"
		die "go not found: $hint"
	fi
	say "$(go version)"
}
