package service

import _ "github.com/treue/treue/services/survey/service" // want rewards-isolated
