package wizard

// determined records the policies that decided a group's cell (none for a default deny).
func (r *MatrixRow) determined(group string, policies []string) {
	if len(policies) == 0 {
		return
	}
	if r.Determining == nil {
		r.Determining = map[string][]string{}
	}
	r.Determining[group] = policies
}
