package web

import (
	"strings"

	"github.com/treue/treue/services/survey/internal/domain"
)

// uiText is the wording of the page around the survey's own texts.
type uiText struct {
	Title           string // when the survey has no title in the language
	Submit          string
	Next            string
	Optional        string
	Thanks          string // when the survey has no thanks text in the language
	AlreadyAnswered string
	ProblemTitle    string
	Expired         string
	Invalid         string
	Gone            string
	ChooseScale     string // %d and %d: the ends of the scale
	Choose          string
	Required        string
	TooLong         string
	Unknown         string
	TooLarge        string
	CrossOrigin     string
	Failed          string
}

var texts = map[string]uiText{
	"en": {
		Title:           "Your opinion",
		Submit:          "Send",
		Next:            "Next",
		Optional:        "optional",
		Thanks:          "Thank you for your answer!",
		AlreadyAnswered: "You have already answered this survey. Thank you!",
		ProblemTitle:    "Sorry",
		Expired:         "This survey link has expired.",
		Invalid:         "This survey link is not valid. Please check that you opened the whole link.",
		Gone:            "This survey is not available.",
		ChooseScale:     "Please choose a value from %d to %d.",
		Choose:          "Please choose an answer.",
		Required:        "Please answer this question.",
		TooLong:         "Your answer is too long (at most 4000 characters).",
		Unknown:         "This answer is not one of the choices.",
		TooLarge:        "What you sent is too large.",
		CrossOrigin:     "This form can only be sent from its own page.",
		Failed:          "Something went wrong on our side. Please try again later.",
	},
	"de": {
		Title:           "Ihre Meinung",
		Submit:          "Senden",
		Next:            "Weiter",
		Optional:        "freiwillig",
		Thanks:          "Vielen Dank für Ihre Antwort!",
		AlreadyAnswered: "Sie haben diese Umfrage bereits beantwortet. Vielen Dank!",
		ProblemTitle:    "Entschuldigung",
		Expired:         "Dieser Umfragelink ist abgelaufen.",
		Invalid:         "Dieser Umfragelink ist ungültig. Bitte prüfen Sie, ob Sie den ganzen Link geöffnet haben.",
		Gone:            "Diese Umfrage ist nicht verfügbar.",
		ChooseScale:     "Bitte wählen Sie einen Wert von %d bis %d.",
		Choose:          "Bitte wählen Sie eine Antwort.",
		Required:        "Bitte beantworten Sie diese Frage.",
		TooLong:         "Ihre Antwort ist zu lang (höchstens 4000 Zeichen).",
		Unknown:         "Diese Antwort gehört nicht zur Auswahl.",
		TooLarge:        "Ihre Eingabe ist zu groß.",
		CrossOrigin:     "Dieses Formular kann nur von seiner eigenen Seite gesendet werden.",
		Failed:          "Bei uns ist etwas schiefgelaufen. Bitte versuchen Sie es später noch einmal.",
	},
}

const fallbackLang = "en"

// textFor returns the page wording for lang, or English.
func textFor(lang string) uiText {
	if t, ok := texts[lang]; ok {
		return t
	}
	return texts[fallbackLang]
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
