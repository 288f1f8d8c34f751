package domain

// minorDigits is the number of minor-unit digits of the ISO-4217 currencies a programme
// may accept: an amount of 1000 is 10.00 EUR but 1000 JPY and 1.000 BHD, so points must
// know which. The list is kept short on purpose: a currency not in it cannot be
// configured, and one a till sends that the programme does not accept is refused.
var minorDigits = map[string]int{
	// Europe
	"EUR": 2, "CHF": 2, "GBP": 2, "SEK": 2, "NOK": 2, "DKK": 2, "ISK": 0, "PLN": 2,
	"CZK": 2, "HUF": 2, "RON": 2, "BGN": 2, "RSD": 2, "TRY": 2, "UAH": 2,
	// Americas
	"USD": 2, "CAD": 2, "MXN": 2, "BRL": 2, "ARS": 2, "CLP": 0, "COP": 2, "PEN": 2,
	// Asia, Pacific
	"JPY": 0, "KRW": 0, "CNY": 2, "HKD": 2, "TWD": 2, "SGD": 2, "INR": 2, "IDR": 2,
	"THB": 2, "MYR": 2, "PHP": 2, "VND": 0, "AUD": 2, "NZD": 2,
	// Middle East, Africa
	"AED": 2, "SAR": 2, "QAR": 2, "ILS": 2, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3,
	"TND": 3, "EGP": 2, "MAD": 2, "ZAR": 2, "NGN": 2, "KES": 2,
}

// MinorDigits returns how many minor-unit digits currency has (2 for EUR, 0 for JPY, 3 for
// BHD), or false when it is not an ISO-4217 code the ledger knows.
func MinorDigits(currency string) (int, bool) {
	d, ok := minorDigits[currency]
	return d, ok
}
