// Package faultfs mounts small, real file systems that tests can make
// fail on demand: a tmpfs of a given size to fill up (ENOSPC), and an ext4
// image on a loop device that an injected error turns read-only (EROFS),
// as a disk that fails does. Each is mounted on a new temporary directory
// and unmounted when the test ends.
//
// Mounting needs root (CAP_SYS_ADMIN) and, for ext4, mkfs.ext4 and a loop
// device. Where the machine does not allow it, the test is skipped with
// the reason; with CONTACTGRAPH_TEST_OUTAGES=require in the environment
// (CI sets it) it fails instead, so that CI cannot skip these tests
// silently.
package faultfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// EnvRequire names the environment variable that turns the skips of this
// package (and of pgcluster's tests) into failures when it is "require".
const EnvRequire = "CONTACTGRAPH_TEST_OUTAGES"

// Unsupported skips t with reason, or fails it when EnvRequire says the
// test must run.
func Unsupported(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequire) == "require" {
		t.Fatalf("%s (and %s=require)", reason, EnvRequire)
	}
	t.Skip(reason)
}

// Tmpfs mounts a tmpfs of size bytes on a new directory and returns it.
func Tmpfs(t testing.TB, size int64) string {
	t.Helper()
	dir := mountpoint(t)
	if out, err := run("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0755", "tmpfs", dir); err != nil {
		Unsupported(t, fmt.Sprintf("this machine does not let the test mount a tmpfs (it needs root): %v %s", err, out))
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// Fill writes a file into dir until its file system is full and returns
// the file's path: removing it frees the space again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler-")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Large writes first, then what still fits of smaller ones.
	for _, n := range []int{64 << 10, 4 << 10, 1} {
		buf := make([]byte, n)
		for {
			_, err := f.Write(buf)
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			if err != nil {
				t.Fatalf("fill %s: %v", dir, err)
			}
		}
	}
	return f.Name()
}

// Ext4 is an ext4 file system on a loop device, mounted with
// errors=remount-ro.
type Ext4 struct {
	Dir   string // the mount point
	Image string // the image file
	t     testing.TB
}

// NewExt4 makes an ext4 image of size bytes, mounts it on a new directory
// and returns it.
func NewExt4(t testing.TB, size int64) *Ext4 {
	t.Helper()
	for _, tool := range []string{"mkfs.ext4", "mount", "losetup"} {
		if _, err := exec.LookPath(tool); err != nil {
			Unsupported(t, fmt.Sprintf("%s is not installed (Debian: e2fsprogs, mount)", tool))
		}
	}
	img := filepath.Join(t.TempDir(), "ext4.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if out, err := run("mkfs.ext4", "-q", "-F", img); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	e := &Ext4{Dir: mountpoint(t), Image: img, t: t}
	if err := e.mount(); err != nil {
		Unsupported(t, fmt.Sprintf("this machine does not let the test loop-mount an ext4 image (it needs root and a loop device): %v", err))
	}
	t.Cleanup(func() { unmount(t, e.Dir) })
	return e
}

func (e *Ext4) mount() error {
	if out, err := run("mount", "-o", "loop,errors=remount-ro", e.Image, e.Dir); err != nil {
		return fmt.Errorf("%v %s", err, out)
	}
	return nil
}

// Fail injects a file system error (the kernel's trigger_fs_error), which
// errors=remount-ro answers by making the file system read-only at once:
// from then on every write fails with EROFS, as on a disk that failed.
// Open files stay open; only unmounting and mounting again (Remount)
// makes the file system writable again.
func (e *Ext4) Fail() {
	e.t.Helper()
	dev, err := e.device()
	if err != nil {
		e.t.Fatal(err)
	}
	trigger := filepath.Join("/sys/fs/ext4", filepath.Base(dev), "trigger_fs_error")
	if err := os.WriteFile(trigger, []byte("contactgraph test\n"), 0); err != nil {
		Unsupported(e.t, fmt.Sprintf("this kernel cannot inject an ext4 error (%s): %v", trigger, err))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		probe := filepath.Join(e.Dir, ".probe")
		err := os.WriteFile(probe, nil, 0o600)
		if errors.Is(err, syscall.EROFS) {
			return
		}
		os.Remove(probe)
		if time.Now().After(deadline) {
			e.t.Fatalf("%s is still writable after an injected error (%v)", e.Dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Remount unmounts the file system, checks it (e2fsck -p, which also
// clears the error state) and mounts it again, writable. Every file on it
// must be closed first.
func (e *Ext4) Remount() {
	e.t.Helper()
	if out, err := run("umount", e.Dir); err != nil {
		e.t.Fatalf("umount %s: %v %s", e.Dir, err, out)
	}
	if out, err := run("e2fsck", "-f", "-y", e.Image); err != nil {
		var ee *exec.ExitError
		// 1: errors corrected; 2: corrected, reboot advised (not for an image).
		if !errors.As(err, &ee) || ee.ExitCode() > 2 {
			e.t.Fatalf("e2fsck %s: %v %s", e.Image, err, out)
		}
	}
	if err := e.mount(); err != nil {
		e.t.Fatal(err)
	}
}

// device returns the loop device the file system is mounted from.
func (e *Ext4) device() (string, error) {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == e.Dir && f[2] == "ext4" {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("faultfs: %s is not mounted", e.Dir)
}

// mountpoint returns a new directory to mount on, outside t.TempDir so
// that its removal does not race the unmount.
func mountpoint(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "contactgraph-faultfs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	return dir
}

// unmount unmounts dir, retrying while it is busy (a server process that
// is still exiting).
func unmount(t testing.TB, dir string) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := run("umount", dir)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("umount %s: %v %s", dir, err, out)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs a command with a timeout and returns its combined output.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
