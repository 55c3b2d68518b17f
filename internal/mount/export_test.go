package mount

// NormalizeUsername exports normalizeUsername to the tests.
var NormalizeUsername = normalizeUsername
