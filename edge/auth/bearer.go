package auth

// BearerToken returns the token of an Authorization header value
// "Bearer <token>" (RFC 6750 §2.1; the scheme is case-insensitive) as a
// subslice of header, without copying. ok is false for an empty header,
// another scheme, or a token with characters outside token68. A request whose
// header is absent or not Bearer has no token: answer 401 with
// Challenge(ErrNoToken).
func BearerToken(header []byte) (token []byte, ok bool) {
	const scheme = "bearer"
	header = trimSpace(header)
	if len(header) <= len(scheme) || header[len(scheme)] != ' ' {
		return nil, false
	}
	for i := 0; i < len(scheme); i++ {
		if header[i]|0x20 != scheme[i] {
			return nil, false
		}
	}
	token = trimSpace(header[len(scheme):])
	if len(token) == 0 || !isToken68(token) {
		return nil, false
	}
	return token, true
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isToken68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(b []byte) bool {
	i := 0
	for ; i < len(b); i++ {
		c := b[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] != '=' {
			return false
		}
	}
	return true
}
