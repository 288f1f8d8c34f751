package web

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
)

// pageCSS is the page's only style: mobile first, large tap targets, a visible focus
// ring, colours with AA contrast (text #1c1917 and #44403c on #fafaf9, white on #1d4ed8,
// #991b1b on #fef2f2). It is inline (one request on a slow phone) and allowed by its
// hash in the Content-Security-Policy, so no other inline style can apply.
const pageCSS = `
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#fafaf9;color:#1c1917}
main{max-width:38rem;margin:0 auto;padding:1.25rem 1rem 2rem}
h1{font-size:1.45rem;line-height:1.25;margin:0 0 .75rem}
.intro{margin:0 0 1.25rem;color:#44403c}
.q{border:0;margin:0 0 1.5rem;padding:0;min-width:0}
legend,.q>label{display:block;font-weight:600;font-size:1.1rem;margin:0 0 .6rem;padding:0}
.opt-tag{font-weight:400;color:#44403c}
.scale{display:grid;gap:.35rem}
.n5{grid-template-columns:repeat(5,1fr)}
.n7{grid-template-columns:repeat(7,1fr)}
.n11{grid-template-columns:repeat(6,1fr)}
@media (min-width:30rem){.n11{grid-template-columns:repeat(11,1fr)}}
.scale label{position:relative;display:block}
.scale input{position:absolute;inset:0;margin:0;opacity:0;width:100%;height:100%;cursor:pointer}
.scale span{display:flex;align-items:center;justify-content:center;min-height:2.9rem;border:2px solid #78716c;border-radius:.45rem;background:#fff;font-weight:700}
.scale input:checked+span{background:#1d4ed8;border-color:#1d4ed8;color:#fff}
.scale input:focus-visible+span{outline:3px solid #1c1917;outline-offset:2px}
.ends{display:flex;justify-content:space-between;gap:1rem;margin:.4rem 0 0;font-size:.9rem;color:#44403c}
.ends span:last-child{text-align:right}
.choices label{display:flex;align-items:center;gap:.75rem;min-height:2.9rem;padding:.35rem .75rem;margin-bottom:.35rem;border:2px solid #78716c;border-radius:.45rem;background:#fff;cursor:pointer}
.choices input{width:1.35rem;height:1.35rem;margin:0;accent-color:#1d4ed8;flex:none}
textarea{display:block;width:100%;min-height:7.5rem;padding:.65rem;font:inherit;color:inherit;background:#fff;border:2px solid #78716c;border-radius:.45rem}
:focus-visible{outline:3px solid #1d4ed8;outline-offset:2px}
textarea:focus-visible{outline:3px solid #1d4ed8;outline-offset:1px}
[aria-invalid=true],.invalid span,.invalid label{border-color:#b91c1c}
.error{margin:0 0 .6rem;padding:.5rem .75rem;border-left:4px solid #b91c1c;background:#fef2f2;color:#991b1b;font-weight:600}
button{display:block;width:100%;min-height:3rem;margin-top:.5rem;padding:.75rem;font:inherit;font-weight:700;color:#fff;background:#1d4ed8;border:0;border-radius:.45rem;cursor:pointer}
button:focus-visible{outline:3px solid #1c1917;outline-offset:2px}
`

// surveyJS is the page's only script (/static/survey.js): it shows follow-up questions
// as answers change and saves drafts. The page works without it.
//
//go:embed static/survey.js
var surveyJS []byte

// styleHash is the CSP source that allows pageCSS.
var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageCSS))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// contentSecurityPolicy allows the page's own style, its own script file, drafts posted
// to its own origin and form posts to its own origin, and nothing else: no inline
// script, no frames, no other resources.
var contentSecurityPolicy = "default-src 'none'; style-src " + styleHash +
	"; script-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// The script's URL is relative ("../static/survey.js" from /s/<token> and /r/<code>),
// so it loads from wherever a proxy serves the page.
const layout = `{{define "layout"}}<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
<style>` + pageCSS + `</style>
{{if .Script}}<script src="../static/survey.js" defer></script>{{end}}
</head>
<body><main>
{{template "content" .}}
</main></body>
</html>{{end}}`

// The form has no action: it posts back to the page's own URL, whatever prefix a proxy
// serves it under. It is novalidate: the server checks the answers and ties each error
// to its question (aria-describedby), and the first question in error takes the focus
// (autofocus, which needs no script).
const formPage = `{{define "content"}}
<h1>{{.Title}}</h1>
{{if .Intro}}<p class="intro">{{.Intro}}</p>{{end}}
<form id="survey" method="post" novalidate>
<input type="hidden" name="_shown" value="{{.Shown}}">
{{range .Questions}}{{if eq .Kind "text"}}
<div class="q" data-q="{{.ID}}"{{template "showif" .}}{{if .Hidden}} hidden{{end}}>
<label for="q-{{.ID}}">{{.Prompt}}{{if not .Required}} <span class="opt-tag">({{$.T.Optional}})</span>{{end}}</label>
{{if .Error}}<p class="error" id="q-{{.ID}}-err">{{.Error}}</p>{{end}}
<textarea id="q-{{.ID}}" name="q.{{.ID}}" maxlength="4000"{{if .Required}} required{{end}}{{if .Error}} aria-invalid="true" aria-describedby="q-{{.ID}}-err"{{end}}{{if .Focus}} autofocus{{end}}>{{.Text}}</textarea>
</div>
{{else}}
<fieldset class="q{{if .Error}} invalid{{end}}" data-q="{{.ID}}"{{template "showif" .}}{{if .Hidden}} hidden{{end}}{{if .Described}} aria-describedby="{{.Described}}"{{end}}>
<legend>{{.Prompt}}{{if not .Required}} <span class="opt-tag">({{$.T.Optional}})</span>{{end}}</legend>
{{if .Error}}<p class="error" id="q-{{.ID}}-err">{{.Error}}</p>{{end}}
<div class="{{if eq .Kind "scale"}}scale n{{len .Options}}{{else}}choices{{end}}">
{{$q := .}}{{range $i, $o := .Options}}<label><input type="{{if eq $q.Kind "multiple"}}checkbox{{else}}radio{{end}}" name="q.{{$q.ID}}" value="{{$o.Value}}"{{if $o.Checked}} checked{{end}}{{if and $q.Required (ne $q.Kind "multiple")}} required{{end}}{{if and $q.Focus (eq $i 0)}} autofocus{{end}}><span>{{$o.Label}}</span></label>
{{end}}</div>
{{if eq .Kind "scale"}}<p class="ends" id="q-{{.ID}}-ends"><span>{{.Min}} = {{.Low}}</span><span>{{.Max}} = {{.High}}</span></p>{{end}}
</fieldset>
{{end}}{{end}}
<button type="submit"{{if .Next}} data-send="{{.T.Submit}}"{{end}}>{{if .Next}}{{.T.Next}}{{else}}{{.T.Submit}}{{end}}</button>
</form>
{{end}}
{{define "showif"}}{{with .ShowIf}} data-show-if="{{.QuestionID}}"{{if .Min}} data-min="{{.Min}}"{{end}}{{if .Max}} data-max="{{.Max}}"{{end}}{{if .AnyOf}} data-any-of="{{.AnyOf}}"{{end}}{{end}}{{end}}`

// The thanks and the problems are headings, so that a screen reader lands on them.
const thanksPage = `{{define "content"}}
<h1 id="thanks">{{.Message}}</h1>
{{end}}`

const problemPage = `{{define "content"}}
<h1 id="problem">{{.Message}}</h1>
{{end}}`

var (
	formTemplate    = template.Must(template.Must(template.New("form").Parse(layout)).Parse(formPage))
	thanksTemplate  = template.Must(template.Must(template.New("thanks").Parse(layout)).Parse(thanksPage))
	problemTemplate = template.Must(template.Must(template.New("problem").Parse(layout)).Parse(problemPage))
)

// view is what every page template reads.
type view struct {
	Lang   string
	Title  string
	T      uiText
	Script bool // the form's script

	// The form.
	Intro     string
	Shown     string // the ids of the questions shown, space-separated
	Questions []questionView
	Next      bool // a follow-up may come after this post: the button says Next

	// The thanks and problem pages.
	Message string
}

// questionView is one question on the form.
type questionView struct {
	ID       string
	Kind     string // scale, single, multiple, text
	Prompt   string
	Required bool
	Hidden   bool
	ShowIf   *showIfView

	// A scale's ends and their labels.
	Min, Max  int
	Low, High string

	Options []optionView // scale values or choices
	Text    string       // an open question's answer so far

	Error     string
	Focus     bool   // the first question in error
	Described string // the ids that describe a fieldset: its ends and its error
}

// showIfView is a follow-up's condition, as the script reads it.
type showIfView struct {
	QuestionID string
	Min, Max   string // "" when open
	AnyOf      string // choice ids, space-separated
}

type optionView struct {
	Value   string
	Label   string
	Checked bool
}
