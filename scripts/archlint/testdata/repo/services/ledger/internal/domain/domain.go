package domain

import (
	_ "errors"
	_ "time"
)
