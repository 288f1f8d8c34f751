package web

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
)

// pageCSS is the page's only style. It is inline (one request on a slow phone) and
// allowed by its hash in the Content-Security-Policy, so no other inline style or script
// can run.
const pageCSS = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5f4;color:#1c1917;line-height:1.5}
main{max-width:36rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.4rem;margin:0 0 1rem}
fieldset{border:0;margin:0 0 1.25rem;padding:0}
legend{font-size:1.15rem;font-weight:600;margin-bottom:.75rem}
.scale{display:grid;grid-template-columns:repeat(11,1fr);gap:.25rem}
.scale input{position:absolute;opacity:0;width:1px;height:1px}
.scale label{display:block;text-align:center;padding:.7rem 0;border:1px solid #a8a29e;border-radius:.4rem;background:#fff;font-weight:600;cursor:pointer}
.scale input:checked+label{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.scale input:focus-visible+label{outline:3px solid #93c5fd}
.ends{display:flex;justify-content:space-between;font-size:.85rem;color:#57534e;margin-top:.35rem}
label.comment{display:block;font-weight:600;margin-bottom:.35rem}
textarea{width:100%;min-height:7rem;padding:.6rem;font:inherit;border:1px solid #a8a29e;border-radius:.4rem}
button{margin-top:1rem;width:100%;padding:.85rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.4rem;cursor:pointer}
.error{background:#fee2e2;color:#991b1b;padding:.6rem .8rem;border-radius:.4rem;margin-bottom:1rem}
blockquote{margin:1rem 0;padding:.6rem .8rem;background:#fff;border-left:4px solid #1d4ed8;white-space:pre-wrap;overflow-wrap:anywhere}
@media (max-width:380px){.scale{grid-template-columns:repeat(6,1fr)}}
`

// styleHash is the CSP source that allows pageCSS.
var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// contentSecurityPolicy allows the page's own style and form posts to its own origin,
// and nothing else: no scripts, no frames, no other resources.
var contentSecurityPolicy = "default-src 'none'; style-src " + styleHash +
	"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const layout = `{{define "layout"}}<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>` + pageCSS + `</style>
</head>
<body><main>
{{template "content" .}}
</main></body>
</html>{{end}}`

// The form has no action: it posts back to the page's own URL, whatever prefix a proxy
// serves it under.
const formPage = `{{define "content"}}
<h1>{{.T.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post">
<fieldset>
<legend>{{.Question}}</legend>
<div class="scale">
{{range .Scores}}<input type="radio" name="score" value="{{.}}" id="score-{{.}}" required{{if eq . $.Selected}} checked{{end}}><label for="score-{{.}}">{{.}}</label>
{{end}}</div>
<div class="ends"><span>0 – {{.LowLabel}}</span><span>10 – {{.HighLabel}}</span></div>
</fieldset>
<label class="comment" for="comment">{{.T.CommentLabel}}</label>
<textarea id="comment" name="comment" maxlength="4000">{{.Comment}}</textarea>
<button type="submit">{{.T.Submit}}</button>
</form>
{{end}}`

const thanksPage = `{{define "content"}}
<h1>{{.T.ThanksTitle}}</h1>
<p>{{.Message}}</p>
{{if .Comment}}<p>{{.T.YourComment}}</p><blockquote>{{.Comment}}</blockquote>{{end}}
{{end}}`

const problemPage = `{{define "content"}}
<h1>{{.T.ProblemTitle}}</h1>
<p>{{.Message}}</p>
{{end}}`

var (
	formTemplate    = template.Must(template.Must(template.New("form").Parse(layout)).Parse(formPage))
	thanksTemplate  = template.Must(template.Must(template.New("thanks").Parse(layout)).Parse(thanksPage))
	problemTemplate = template.Must(template.Must(template.New("problem").Parse(layout)).Parse(problemPage))
)

// view is what every page template reads.
type view struct {
	Lang  string
	Title string
	T     uiText

	// The form.
	Question  string
	LowLabel  string
	HighLabel string
	Scores    []int
	Selected  int
	Error     string

	// The thank-you and problem pages.
	Message string

	// Echoed on the form after an error and on the thank-you page; html/template escapes it.
	Comment string
}
