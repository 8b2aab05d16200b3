package alert

// CountField is the output field that an aggregation follow-up alert
// carries: how many repeats of the alert it stands for (see package
// alert/pipeline). It sits inside output_fields, so the json_output schema
// stays Falco's.
const CountField = "vigil.count"

// Count returns how many rule matches a stands for: the value of its
// CountField output field when that is a positive integer (an aggregation
// follow-up), else 1.
func (a *Alert) Count() int64 {
	switch v := a.OutputFields[CountField].(type) {
	case int64:
		if v > 0 {
			return v
		}
	case int:
		if v > 0 {
			return int64(v)
		}
	case uint64:
		if v > 0 && v <= 1<<62 {
			return int64(v)
		}
	case float64: // decoded from JSON
		if v >= 1 && v <= 1<<62 {
			return int64(v)
		}
	}
	return 1
}
