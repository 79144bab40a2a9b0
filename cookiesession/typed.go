package cookiesession

// Get decodes the value stored under key into a T (Django's s[key] and
// s.get(key)). ok is false, with a zero T and no error, if key is not set;
// err matches [ErrDecode] if the stored value does not fit a T. No type
// needs registering: any type CBOR can decode works, and a struct with
// `cbor:"1,keyasint"` field tags encodes most compactly.
//
// The result is a copy: changing it does not change the session until it
// is stored back with Set.
func Get[T any](s *Session, key string) (v T, ok bool, err error) {
	st := s.use()
	if st == nil {
		return v, false, ErrNoSession
	}
	raw, ok := st.lookup(key)
	st.mu.Unlock()
	if !ok {
		return v, false, nil
	}
	if decodeScalar(raw, &v) { // v stays on the stack
		return v, true, nil
	}
	var w T
	if err := decodeValue(raw, &w); err != nil {
		var zero T
		return zero, true, err
	}
	return w, true, nil
}

// Pop removes key and returns its value decoded into a T (Django's pop).
// ok is false if key was not set, and then the session is not modified. If
// the value does not decode into a T, Pop returns an error matching
// [ErrDecode] and leaves the key in place.
func Pop[T any](s *Session, key string) (v T, ok bool, err error) {
	st := s.use()
	if st == nil {
		return v, false, ErrNoSession
	}
	defer st.mu.Unlock()
	raw, ok := st.lookup(key)
	if !ok {
		return v, false, nil
	}
	if !decodeScalar(raw, &v) { // v stays on the stack
		var w T
		if err := decodeValue(raw, &w); err != nil {
			var zero T
			return zero, true, err
		}
		v = w
	}
	delete(st.dataMap(), key)
	st.change()
	return v, true, nil
}

// Data decodes the session's typed value into a T: the typed mode, in which
// the whole session is one struct of the application's. A session with no
// typed value yields a zero T. The typed value is independent of the keys
// of the dict-like API; an application normally uses one or the other.
func Data[T any](s *Session) (T, error) {
	var v T
	st := s.use()
	if st == nil {
		return v, ErrNoSession
	}
	raw := st.Value
	st.mu.Unlock()
	if raw == nil {
		return v, nil
	}
	if err := decodeValue(raw, &v); err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// SetData replaces the session's typed value with v and marks the session
// modified. It returns an error matching [ErrEncode], and changes nothing,
// if v cannot be stored.
func SetData[T any](s *Session, v T) error {
	if s.state() == nil {
		return ErrNoSession
	}
	raw, err := encodeValue(v)
	st := s.use()
	defer st.mu.Unlock()
	if err != nil {
		return err
	}
	st.Value = raw
	st.change()
	return nil
}

// AddFlash queues a flash message: a value of any type, shown once on a
// later response, typically after a redirect. It survives in the session
// until read with [Flashes].
func AddFlash[T any](s *Session, message T) error {
	if s.state() == nil {
		return ErrNoSession
	}
	raw, err := encodeValue(message)
	st := s.use()
	defer st.mu.Unlock()
	if err != nil {
		return err
	}
	st.Flashes = append(st.Flashes, raw)
	st.change()
	return nil
}

// Flashes returns the queued flash messages, oldest first, decoded into Ts,
// and removes them: each message is read once. With no messages it returns
// nil and leaves the session unmodified. If any message does not decode
// into a T, it returns an error matching [ErrDecode] and keeps them all.
func Flashes[T any](s *Session) ([]T, error) {
	st := s.use()
	if st == nil {
		return nil, ErrNoSession
	}
	defer st.mu.Unlock()
	if len(st.Flashes) == 0 {
		return nil, nil
	}
	out := make([]T, len(st.Flashes))
	for i, raw := range st.Flashes {
		if err := decodeValue(raw, &out[i]); err != nil {
			return nil, err
		}
	}
	st.Flashes = nil
	st.change()
	return out, nil
}
