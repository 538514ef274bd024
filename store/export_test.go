package store

// Deadlocks is how many bodies PostgreSQL made run again for a deadlock.
func (db *DB) Deadlocks() int64 { return db.deadlocks.Load() }
