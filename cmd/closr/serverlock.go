package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDatabase makes sure only one server uses the database file: the
// active keys are held in memory, and a revoke in one process would not
// reach another. The kernel drops the lock when the process ends, however
// it ends.
func lockDatabase(dbPath string) (release func(), err error) {
	f, err := os.OpenFile(dbPath+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another closr server is already using %s; run one server per database", dbPath)
		}
		return nil, fmt.Errorf("lock %s: %w", dbPath, err)
	}
	return func() { f.Close() }, nil
}
