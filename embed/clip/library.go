package clip

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// LibraryEnv is the environment variable naming the ONNX Runtime shared
// library (as the --ort-lib flags do).
const LibraryEnv = "LOOKALIKE_ORT_LIB"

// InstallScript installs the library into .tools/onnxruntime/.
const InstallScript = "./scripts/install-onnxruntime"

// ErrLibraryNotFound is wrapped by FindLibrary's error when ONNX Runtime is
// nowhere to be found.
var ErrLibraryNotFound = errors.New("ONNX Runtime library not found")

// FindLibrary returns the path of the ONNX Runtime shared library
// (libonnxruntime.so), looking in order at:
//
//  1. explicit, or else $LOOKALIKE_ORT_LIB: that file, which must exist;
//  2. libonnxruntime.so* beside the running executable;
//  3. .tools/onnxruntime/ in the working directory or any parent (where
//     scripts/install-onnxruntime puts it; this is how tests find it);
//  4. the system library path: $LD_LIBRARY_PATH, `ldconfig -p`, and
//     /usr/local/lib, /usr/lib, /usr/lib64, /usr/lib/<arch>-linux-gnu,
//     /opt/onnxruntime/lib.
//
// The error wraps ErrLibraryNotFound and says where it looked and how to
// install the library.
func FindLibrary(explicit string) (string, error) {
	source := "--ort-lib"
	if explicit == "" {
		explicit, source = os.Getenv(LibraryEnv), "$"+LibraryEnv
	}
	if explicit != "" {
		st, err := os.Stat(explicit)
		if err != nil {
			return "", fmt.Errorf("%w: %s %s: %v (install it with %s, or point %s at libonnxruntime.so)",
				ErrLibraryNotFound, source, explicit, err, InstallScript, LibraryEnv)
		}
		if st.IsDir() {
			if p := libIn(explicit); p != "" {
				return p, nil
			}
			return "", fmt.Errorf("%w: %s %s is a directory without libonnxruntime.so*", ErrLibraryNotFound, source, explicit)
		}
		return explicit, nil
	}

	var looked []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		if p := libIn(dir); p != "" {
			return p, nil
		}
		looked = append(looked, "beside the executable ("+dir+")")
	}

	if wd, err := os.Getwd(); err == nil {
		for dir := wd; ; {
			if p := libIn(filepath.Join(dir, ".tools", "onnxruntime")); p != "" {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		looked = append(looked, ".tools/onnxruntime/ in "+wd+" and its parents")
	}

	if p := systemLibrary(); p != "" {
		return p, nil
	}
	looked = append(looked, "the system library path (LD_LIBRARY_PATH, ldconfig, /usr/local/lib, /usr/lib)")
	return "", fmt.Errorf("%w: $%s is not set, and it is not %s; install it with %s (or set %s to libonnxruntime.so)",
		ErrLibraryNotFound, LibraryEnv, strings.Join(looked, ", nor "), InstallScript, LibraryEnv)
}

// libIn returns the best libonnxruntime.so* in dir: the plain name, then
// the shortest versioned one.
func libIn(dir string) string {
	matches, _ := filepath.Glob(filepath.Join(dir, "libonnxruntime.so*"))
	var files []string
	for _, m := range matches {
		if st, err := os.Stat(m); err == nil && st.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	if len(files) == 0 {
		return ""
	}
	sort.Slice(files, func(i, j int) bool {
		if len(files[i]) != len(files[j]) {
			return len(files[i]) < len(files[j])
		}
		return files[i] < files[j]
	})
	return files[0]
}

func systemLibrary() string {
	for _, dir := range filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")) {
		if dir != "" {
			if p := libIn(dir); p != "" {
				return p
			}
		}
	}
	if p := ldconfigLibrary(); p != "" {
		return p
	}
	dirs := []string{"/usr/local/lib", "/usr/lib", "/usr/lib64", "/opt/onnxruntime/lib"}
	if m, _ := filepath.Glob("/usr/lib/*-linux-gnu"); len(m) > 0 {
		dirs = append(dirs, m...)
	}
	for _, dir := range dirs {
		if p := libIn(dir); p != "" {
			return p
		}
	}
	return ""
}

func ldconfigLibrary() string {
	var out []byte
	for _, ldconfig := range []string{"ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"} {
		var err error
		if out, err = exec.Command(ldconfig, "-p").Output(); err == nil {
			break
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// "	libonnxruntime.so.1 (libc6,x86-64) => /usr/lib/libonnxruntime.so.1"
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "libonnxruntime.so") {
			continue
		}
		if _, path, ok := strings.Cut(line, "=> "); ok {
			if _, err := os.Stat(path); err == nil {
				return path
			}
		}
	}
	return ""
}
