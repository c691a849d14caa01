// Package envflag gives every command-line flag an environment variable:
// --nats-url is also ROUNDS_NATS_URL. The command line wins over the
// environment, and the environment over the flag's default.
package envflag

import (
	"flag"
	"fmt"
	"strings"
)

// Prefix starts every Rounds environment variable.
const Prefix = "ROUNDS_"

// Name returns the environment variable of a flag.
func Name(flagName string) string {
	return Prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// alias is the value of a flag that is another name for target: it sets
// the target's value and has no environment variable of its own.
type alias struct {
	flag.Value
	target string
}

// IsBoolFlag lets an alias of a boolean flag stand alone (--x for --x=true).
func (a alias) IsBoolFlag() bool {
	b, ok := a.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// Alias registers --name as another name for the flag target, already
// registered on fs. The alias reads no environment variable (the target's
// does), and giving it on the command line counts as giving the target.
func Alias(fs *flag.FlagSet, name, target string) {
	f := fs.Lookup(target)
	if f == nil {
		panic("envflag: alias of unregistered flag --" + target)
	}
	fs.Var(alias{Value: f.Value, target: target}, name, "the same as --"+target)
}

// Apply sets every flag of fs that was not given on the command line from
// its environment variable, if lookup finds one. Call it after fs.Parse. A
// value the flag refuses is an error naming the variable.
func Apply(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		if a, ok := f.Value.(alias); ok {
			given[a.target] = true
		}
	})
	var errs []string
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := f.Value.(alias); ok || given[f.Name] {
			return
		}
		v, ok := lookup(Name(f.Name))
		if !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", Name(f.Name), v, err))
		}
	})
	if len(errs) > 0 {
		return fmt.Errorf("environment: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Usage returns a usage function for fs that lists each flag with its
// environment variable.
func Usage(fs *flag.FlagSet, synopsis string) func() {
	return func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n\nFlags (each also read from the environment variable shown):\n", synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			if _, ok := f.Value.(alias); ok {
				fmt.Fprintf(w, "  --%s\n    \t%s\n", f.Name, f.Usage)
				return
			}
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  --%s %s\t[%s]\n    \t%s", f.Name, name, Name(f.Name), usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
}
