package svc

// OnClose adds f to what Close releases; it runs before the resources Open took (closers
// run in reverse order), after every server and consumer has stopped.
func (r *Runtime) OnClose(f func()) { r.closers = append(r.closers, f) }
