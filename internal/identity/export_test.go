package identity

// WaitIdle waits for background refreshes started by Validate (tests only).
func (r *Registry) WaitIdle() { r.async.Wait() }
