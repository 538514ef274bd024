-- What a submission left out or lacked, said to the sender as warnings and
-- shown with the submission: files not kept, no email or phone.
ALTER TABLE submissions ADD COLUMN notes TEXT NOT NULL DEFAULT '[]'; -- JSON ["...", ...]
