package domain

import (
	"fmt"
	"strings"
	"time"
)

// RewardStatus is where a goodwill coupon reward stands.
type RewardStatus string

const (
	// RewardPending: the rewards service is to be asked for the coupon (again).
	RewardPending RewardStatus = "pending"
	// RewardEmailed: the coupon is issued and its code was emailed to the member.
	RewardEmailed RewardStatus = "emailed"
	// RewardNotEmailed: the coupon is issued, but its code did not reach the member
	// (Error says why); an agent has to tell the member another way.
	RewardNotEmailed RewardStatus = "not_emailed"
	// RewardRefused: the rewards service refused the coupon (an inactive or unknown
	// reward); no retry.
	RewardRefused RewardStatus = "refused"
	// RewardFailed: the rewards service did not answer within the attempts.
	RewardFailed RewardStatus = "failed"
)

// Issued reports whether the coupon exists.
func (s RewardStatus) Issued() bool { return s == RewardEmailed || s == RewardNotEmailed }

// GoodwillReward is a coupon reward a case's goodwill granted, and what became of it.
type GoodwillReward struct {
	CaseID   string
	MemberID string
	RewardID string
	Reason   string
	Status   RewardStatus
	// Attempts are the calls to the rewards service claimed so far.
	Attempts   int
	CouponID   string
	RewardName string
	ValueMinor int64
	Currency   string
	ExpiresAt  time.Time
	Error      string
	UpdatedAt  time.Time
}

// IdempotencyKey is the key of the rewards service's GrantGoodwillCoupon for the case:
// every retry gets the same coupon (and, within its retry window, the same code).
func (r GoodwillReward) IdempotencyKey() string { return "goodwill:" + r.CaseID }

// Note is the case history's line about the reward's outcome.
func (r GoodwillReward) Note() string {
	switch r.Status {
	case RewardEmailed:
		return fmt.Sprintf("goodwill coupon %q (%s) issued, expires %s; its code was emailed to the member",
			r.RewardName, Money(r.ValueMinor, r.Currency, "en"), r.ExpiresAt.UTC().Format("2006-01-02"))
	case RewardNotEmailed:
		return fmt.Sprintf("goodwill coupon %q (%s) issued, code NOT emailed: %s", r.RewardName,
			Money(r.ValueMinor, r.Currency, "en"), r.Error)
	case RewardRefused:
		return "goodwill reward refused by the rewards service: " + r.Error
	case RewardFailed:
		return "goodwill reward failed: " + r.Error
	}
	return ""
}

// Money is an amount in minor units as people of the locale write it ("5.00 EUR",
// "5,00 EUR").
func Money(minor int64, currency, locale string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	sep := "."
	if German(locale) {
		sep = ","
	}
	return fmt.Sprintf("%s%d%s%02d %s", sign, minor/100, sep, minor%100, currency)
}

// German reports whether a member's locale asks for German.
func German(locale string) bool {
	l := strings.ToLower(locale)
	return l == "de" || strings.HasPrefix(l, "de-") || strings.HasPrefix(l, "de_")
}

// CouponMail is the email that brings a goodwill coupon's code to the member.
type CouponMail struct {
	Locale     string
	Name       string
	RewardName string
	ValueMinor int64
	Currency   string
	Code       string
	ExpiresAt  time.Time
}

// couponTexts are the coupon email's words in one language.
type couponTexts struct {
	subject, hello, sorry, valid, date, show, sign string
}

var (
	couponDE = couponTexts{
		subject: "Ein Gutschein als Entschuldigung", hello: "Guten Tag",
		sorry: "es tut uns leid, dass Sie nicht zufrieden waren. Als kleine Entschuldigung schenken wir Ihnen einen Gutschein:",
		valid: "gültig bis", date: "02.01.2006", show: "Zeigen Sie den Code an der Kasse vor. Er gilt einmal.", sign: "Ihr Treue-Team",
	}
	couponEN = couponTexts{
		subject: "A coupon to say sorry", hello: "Hello",
		sorry: "we are sorry that you were not happy with us. As a small apology, here is a coupon for you:",
		valid: "valid until", date: "2006-01-02", show: "Show the code at the till. It can be used once.", sign: "Your Treue team",
	}
)

// Render returns the email's subject and plain-text body in the member's language
// (German for a German locale, else English).
func (m CouponMail) Render() (subject, body string) {
	t := couponEN
	if German(m.Locale) {
		t = couponDE
	}
	greeting := t.hello + ","
	if m.Name != "" {
		greeting = t.hello + " " + m.Name + ","
	}
	return t.subject, greeting + "\n\n" + t.sorry + "\n\n" +
		"  " + m.RewardName + " (" + Money(m.ValueMinor, m.Currency, m.Locale) + ")\n" +
		"  Code: " + m.Code + "\n" +
		"  " + t.valid + " " + m.ExpiresAt.UTC().Format(t.date) + "\n\n" +
		t.show + "\n\n" + t.sign + "\n"
}
