package web

import (
	"strings"

	"github.com/treue/treue/services/survey/internal/domain"
)

// uiText is the wording of the page around the survey's own question.
type uiText struct {
	Title           string
	Submit          string
	CommentLabel    string
	ThanksTitle     string
	Thanks          string
	YourComment     string
	AlreadyAnswered string
	ProblemTitle    string
	Expired         string
	Invalid         string
	Gone            string
	ChooseScore     string
	CommentTooLong  string
	TooLarge        string
	Failed          string
}

var texts = map[string]uiText{
	"en": {
		Title:           "Your opinion",
		Submit:          "Send",
		CommentLabel:    "Anything you would like to tell us? (optional)",
		ThanksTitle:     "Thank you!",
		Thanks:          "Your answer has been recorded.",
		YourComment:     "Your comment:",
		AlreadyAnswered: "You have already answered this survey. Thank you!",
		ProblemTitle:    "Sorry",
		Expired:         "This survey link has expired.",
		Invalid:         "This survey link is not valid. Please check that you opened the whole link.",
		Gone:            "This survey is no longer available.",
		ChooseScore:     "Please choose a score from 0 to 10.",
		CommentTooLong:  "Your comment is too long (at most 4000 characters).",
		TooLarge:        "What you sent is too large.",
		Failed:          "Something went wrong on our side. Please try again later.",
	},
	"de": {
		Title:           "Ihre Meinung",
		Submit:          "Senden",
		CommentLabel:    "Möchten Sie uns noch etwas sagen? (optional)",
		ThanksTitle:     "Vielen Dank!",
		Thanks:          "Ihre Antwort wurde gespeichert.",
		YourComment:     "Ihr Kommentar:",
		AlreadyAnswered: "Sie haben diese Umfrage bereits beantwortet. Vielen Dank!",
		ProblemTitle:    "Entschuldigung",
		Expired:         "Dieser Umfragelink ist abgelaufen.",
		Invalid:         "Dieser Umfragelink ist ungültig. Bitte prüfen Sie, ob Sie den ganzen Link geöffnet haben.",
		Gone:            "Diese Umfrage ist nicht mehr verfügbar.",
		ChooseScore:     "Bitte wählen Sie einen Wert von 0 bis 10.",
		CommentTooLong:  "Ihr Kommentar ist zu lang (höchstens 4000 Zeichen).",
		TooLarge:        "Ihre Eingabe ist zu groß.",
		Failed:          "Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es später noch einmal.",
	},
}

const fallbackLang = "en"

// textFor returns the page wording for lang, or English.
func textFor(lang string) (string, uiText) {
	if t, ok := texts[lang]; ok {
		return lang, t
	}
	return fallbackLang, texts[fallbackLang]
}

// acceptLanguage picks the first language of an Accept-Language header that the page
// speaks; it is used only when the member's locale is unknown (an invalid link).
func acceptLanguage(header string) string {
	for _, part := range strings.Split(header, ",") {
		tag, _, _ := strings.Cut(part, ";")
		if lang := domain.Language(tag); lang != "" {
			if _, ok := texts[lang]; ok {
				return lang
			}
		}
	}
	return fallbackLang
}
