package store_test

import (
	"testing"
)

func pgAddr(t *testing.T) string {
	t.Skip("needs CLOSR_TEST_POSTGRES")
	return ""
}
