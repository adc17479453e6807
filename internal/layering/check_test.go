package layering

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// pkgInfo is the part of `go list -json` output the checker reads.
type pkgInfo struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
	Error        *struct{ Err string }
}

// A violation is one import that breaks a rule.
type violation struct {
	Pkg    string // project package, relative to the module ("." for the root)
	Import string // the import (relative for project packages), or the dependency reached
	Rule   string // short name of the rule: layer, never, test-only, beam, gocloud, table, go-list
	Msg    string
}

func (v violation) String() string { return v.Msg }

// key identifies a violation in tests.
func (v violation) key() string { return v.Pkg + " " + v.Import + " " + v.Rule }

const (
	beamPrefix    = "github.com/apache/beam/"
	gocloudPrefix = "gocloud.dev/"
)

func isBeam(path string) bool    { return strings.HasPrefix(path, beamPrefix) }
func isGocloud(path string) bool { return strings.HasPrefix(path, gocloudPrefix) }

// checker holds the rule table, indexed, and the dependency graph of one
// `go list -deps` output.
type checker struct {
	module  string
	rows    map[string]*layer
	allowed map[string]map[string]string // pkg → allowed project import → why ("" for the table)
	extra   map[string]map[string]string // pkg → allowed external import (exceptions) → why
	graph   map[string][]string          // import path → direct imports (all packages listed)
	pkgs    []pkgInfo                    // project packages, sorted by path

	// memo of reachesGocloud, by import path.
	gocloudMemo map[string]bool
}

// newChecker indexes rules and exceptions for module and the packages of a
// `go list -deps -json` output.
func newChecker(module string, rules []layer, exceptions []exception, listed []pkgInfo) *checker {
	c := &checker{
		module:      module,
		rows:        map[string]*layer{},
		allowed:     map[string]map[string]string{},
		extra:       map[string]map[string]string{},
		graph:       map[string][]string{},
		gocloudMemo: map[string]bool{},
	}
	for i := range rules {
		c.rows[rules[i].pkg] = &rules[i]
	}
	for _, r := range rules {
		set := map[string]string{}
		if !r.leaf {
			for _, l := range leaves {
				set[l] = ""
			}
			c.closure(r.imports, set, map[string]bool{r.pkg: true})
		}
		for _, n := range r.never {
			delete(set, n)
		}
		c.allowed[r.pkg] = set
		c.extra[r.pkg] = map[string]string{}
	}
	for _, e := range exceptions {
		if c.allowed[e.pkg] == nil {
			c.allowed[e.pkg] = map[string]string{}
			c.extra[e.pkg] = map[string]string{}
		}
		if first, _, _ := strings.Cut(e.imports, "/"); strings.Contains(first, ".") {
			c.extra[e.pkg][e.imports] = e.why // an external package
		} else {
			c.allowed[e.pkg][e.imports] = e.why
		}
	}
	for _, p := range listed {
		c.graph[p.ImportPath] = p.Imports
		if c.rel(p.ImportPath) != "" {
			c.pkgs = append(c.pkgs, p)
		}
	}
	sort.Slice(c.pkgs, func(i, j int) bool { return c.pkgs[i].ImportPath < c.pkgs[j].ImportPath })
	return c
}

// closure adds imports and, transitively, what their rows allow to set.
func (c *checker) closure(imports []string, set map[string]string, seen map[string]bool) {
	for _, imp := range imports {
		if seen[imp] {
			continue
		}
		seen[imp] = true
		set[imp] = ""
		if r := c.rows[imp]; r != nil && !r.leaf {
			for _, l := range leaves {
				set[l] = ""
			}
			c.closure(r.imports, set, seen)
		}
	}
}

// rel returns path relative to the module ("." for the module's root
// package), or "" when path is not a project package.
func (c *checker) rel(path string) string {
	switch {
	case path == c.module:
		return "."
	case strings.HasPrefix(path, c.module+"/"):
		return strings.TrimPrefix(path, c.module+"/")
	}
	return ""
}

// check returns every violation, sorted by package and import.
func (c *checker) check() []violation {
	var vs []violation
	add := func(pkg, imp, rule, format string, args ...any) {
		vs = append(vs, violation{Pkg: pkg, Import: imp, Rule: rule, Msg: fmt.Sprintf(format, args...)})
	}
	for _, p := range c.pkgs {
		name := c.rel(p.ImportPath)
		if p.Error != nil {
			add(name, "", "go-list", "%s: go list: %s", name, p.Error.Err)
			continue
		}
		row := c.rows[name]
		if row == nil {
			add(name, "", "table", "%s has no row in the rule table (internal/layering/rules_test.go): "+
				"add one saying what it owns and may import", name)
			continue
		}
		c.checkImports(p, row, add)
		c.checkTestImports(p, row, add)
	}
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Pkg != vs[j].Pkg {
			return vs[i].Pkg < vs[j].Pkg
		}
		return vs[i].Import < vs[j].Import
	})
	return vs
}

type addFunc func(pkg, imp, rule, format string, args ...any)

// checkImports checks the imports and dependencies of p's non-test files.
func (c *checker) checkImports(p pkgInfo, row *layer, add addFunc) {
	name := row.pkg
	for _, imp := range p.Imports {
		if r := c.rel(imp); r != "" {
			c.checkProjectImport(name, r, row, add)
			continue
		}
		if isGocloud(imp) && !slices.Contains(row.gocloud, imp) {
			if _, ok := c.extra[name][imp]; ok {
				continue
			}
			if slices.Contains(blobDrivers, imp) {
				add(name, imp, "gocloud", "%s imports %s: only a main package (cmd/eightbit) or a test "+
					"imports a blob driver; storage opens the drivers the program registers", name, imp)
			} else {
				add(name, imp, "gocloud", "%s imports %s: only storage imports gocloud.dev", name, imp)
			}
		}
	}
	if !row.beam {
		for _, imp := range p.Imports {
			if c.judgedAlone(imp) {
				continue
			}
			if path := c.pathTo(imp, isBeam); path != nil {
				path = append([]string{p.ImportPath}, path...)
				add(name, path[len(path)-1], "beam", "%s depends on Beam through %s: only transforms, pipeline, "+
					"jobs and cmd/eightbit may (%s owns %s)", name, c.showPath(path), name, row.owns)
			}
		}
	}
	if name != "storage" {
		for _, imp := range p.Imports {
			if c.rel(imp) != "" || isGocloud(imp) {
				continue // checked as a package of its own, or a direct import judged above
			}
			if c.reachesGocloud(imp) {
				isStorage := func(s string) bool { return c.rel(s) == "storage" }
				path := append([]string{p.ImportPath}, c.pathAvoiding(imp, isGocloud, isStorage)...)
				add(name, path[len(path)-1], "gocloud", "%s reaches gocloud.dev through %s, not through storage: "+
					"only storage may use gocloud.dev", name, c.showPath(path))
			}
		}
	}
}

// checkProjectImport checks one import of a project package by a non-test
// file of name.
func (c *checker) checkProjectImport(name, imp string, row *layer, add addFunc) {
	if slices.Contains(row.never, imp) {
		add(name, imp, "never", "%s imports %s: %s (%s) must never import %s",
			name, imp, name, row.owns, imp)
		return
	}
	if r := c.rows[imp]; r != nil && r.testOnly && !row.testOnly {
		add(name, imp, "test-only", "%s imports %s: %s is a test helper (%s); only _test.go files may import it",
			name, imp, imp, r.owns)
		return
	}
	if _, ok := c.allowed[name][imp]; ok {
		return
	}
	add(name, imp, "layer", "%s imports %s: %s (%s) may import only %s",
		name, imp, name, row.owns, c.allowedList(name))
}

// checkTestImports checks the imports of p's test files: they may use any
// project package as a fixture, but not a package the row says never, Beam
// unless the row allows it in tests, or gocloud.dev unless the test binary
// links storage (whose drivers it then registers).
func (c *checker) checkTestImports(p pkgInfo, row *layer, add addFunc) {
	name := row.pkg
	imports := append(slices.Clone(p.TestImports), p.XTestImports...)
	slices.Sort(imports)
	imports = slices.Compact(imports)
	isStorage := func(s string) bool { return c.rel(s) == "storage" }
	linksStorage := isStorage(p.ImportPath) || c.reaches(p.ImportPath, isStorage)
	for _, imp := range imports {
		if c.pathTo(imp, isStorage) != nil {
			linksStorage = true
		}
	}
	for _, imp := range imports {
		if imp == p.ImportPath {
			continue // an external test package importing the package under test
		}
		if r := c.rel(imp); r != "" && slices.Contains(row.never, r) {
			add(name, r, "never", "%s's tests import %s: %s (%s) must never import %s, not even in tests",
				name, r, name, row.owns, r)
		}
		if !row.beam && !row.beamTests && !c.judgedAlone(imp) {
			if path := c.pathTo(imp, isBeam); path != nil {
				add(name, path[len(path)-1], "beam", "%s's tests depend on Beam through %s: "+
					"only the tests of transforms, pipeline, jobs, cmd/eightbit and internal/ortinterop may",
					name, c.showPath(path))
			}
		}
		if isGocloud(imp) && !slices.Contains(row.gocloud, imp) {
			if _, ok := c.extra[name][imp]; ok {
				continue
			}
			if !linksStorage {
				add(name, imp, "gocloud", "%s's tests import %s but do not link storage: "+
					"a test imports gocloud.dev only to register the blob drivers storage opens "+
					"(%s) or to inspect them", name, imp, strings.Join(blobDrivers, ", "))
			}
		}
	}
}

// judgedAlone reports whether imp is a project package that may not depend
// on Beam: the Beam rule reports it on its own, not in every importer.
func (c *checker) judgedAlone(imp string) bool {
	r := c.rows[c.rel(imp)]
	return c.rel(imp) != "" && (r == nil || !r.beam)
}

// allowedList is the sorted list of what name may import, for messages.
func (c *checker) allowedList(name string) string {
	var list []string
	for imp, why := range c.allowed[name] {
		if why != "" {
			imp += " (exception: " + why + ")"
		}
		list = append(list, imp)
	}
	if len(list) == 0 {
		return "no project package"
	}
	sort.Strings(list)
	return strings.Join(list, ", ")
}

// pathTo returns the shortest import chain from path to a package matching
// target (path first), or nil when there is none.
func (c *checker) pathTo(path string, target func(string) bool) []string {
	return c.pathAvoiding(path, target, func(string) bool { return false })
}

// pathAvoiding is pathTo through no package matching avoid.
func (c *checker) pathAvoiding(path string, target, avoid func(string) bool) []string {
	if target(path) {
		return []string{path}
	}
	prev := map[string]string{path: ""}
	queue := []string{path}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, m := range c.graph[n] {
			if _, seen := prev[m]; seen || avoid(m) {
				continue
			}
			prev[m] = n
			if target(m) {
				chain := []string{m}
				for x := n; x != ""; x = prev[x] {
					chain = append(chain, x)
				}
				slices.Reverse(chain)
				return chain
			}
			queue = append(queue, m)
		}
	}
	return nil
}

// reaches reports whether some dependency of path (not path itself)
// matches target.
func (c *checker) reaches(path string, target func(string) bool) bool {
	for _, m := range c.graph[path] {
		if c.pathTo(m, target) != nil {
			return true
		}
	}
	return false
}

// reachesGocloud reports whether path is or reaches a gocloud.dev package
// along a chain that does not pass through storage.
func (c *checker) reachesGocloud(path string) bool {
	if v, ok := c.gocloudMemo[path]; ok {
		return v
	}
	c.gocloudMemo[path] = false // cuts cycles, which go list never reports anyway
	v := isGocloud(path)
	for _, m := range c.graph[path] {
		if v {
			break
		}
		v = c.rel(m) != "storage" && c.reachesGocloud(m)
	}
	c.gocloudMemo[path] = v
	return v
}

// showPath writes an import chain with project packages relative to the
// module: "report → jobs → github.com/apache/beam/sdks/v2/go/pkg/beam".
func (c *checker) showPath(path []string) string {
	out := make([]string, len(path))
	for i, p := range path {
		if r := c.rel(p); r != "" {
			out[i] = r
		} else {
			out[i] = p
		}
	}
	return strings.Join(out, " → ")
}

// staleRows lists the rows of the table that name no package of the module.
func (c *checker) staleRows() []string {
	have := map[string]bool{}
	for _, p := range c.pkgs {
		have[c.rel(p.ImportPath)] = true
	}
	var stale []string
	for name := range c.rows {
		if !have[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	return stale
}
