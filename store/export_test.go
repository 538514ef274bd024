package store

// Deadlocks is how many bodies PostgreSQL made run again for a deadlock.
func (db *DB) Raced() int64 { return db.raced.Load() }
