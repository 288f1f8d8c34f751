// Package qrcode draws the QR codes of receipt links, as PNG or SVG, with
// github.com/skip2/go-qrcode.
package qrcode

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	qr "github.com/skip2/go-qrcode"

	"github.com/treue/treue/services/survey/internal/app"
)

// Level is the error correction: Medium (15 %) survives a crease or a smudge on a
// receipt and keeps a link of some 70 characters at version 4 or 5.
const Level = qr.Medium

// Codes implements app.QRCodes.
type Codes struct{}

// Encode implements app.QRCodes. The image keeps the code's quiet zone (four modules)
// and its modules are whole pixels, so a thermal printer prints them crisp.
func (Codes) Encode(content string, format app.QRFormat, size int) ([]byte, string, error) {
	bitmap, err := Bitmap(content)
	if err != nil {
		return nil, "", err
	}
	switch format {
	case app.QRSVG:
		return SVG(bitmap, size), "image/svg+xml", nil
	case app.QRPNG, "":
		b, err := PNG(bitmap, size)
		return b, "image/png", err
	}
	return nil, "", fmt.Errorf("qrcode: unknown format %q", format)
}

// Bitmap is the QR code of content, quiet zone included: true is a dark module.
func Bitmap(content string) ([][]bool, error) {
	q, err := qr.New(content, Level)
	if err != nil {
		return nil, fmt.Errorf("qrcode: %w", err)
	}
	return q.Bitmap(), nil
}

// PNG draws bitmap in a square of size pixels, or larger when size is smaller than
// the bitmap, with each module a whole number of pixels and the code centred.
func PNG(bitmap [][]bool, size int) ([]byte, error) {
	n := len(bitmap)
	scale := max(size/n, 1)
	side := max(size, n*scale)
	offset := (side - n*scale) / 2
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y, row := range bitmap {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetColorIndex(offset+x*scale+dx, offset+y*scale+dy, 1)
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SVG draws bitmap as one path on a white square, in module units scaled to size
// pixels, with crisp edges: each run of dark modules in a row is one rectangle.
func SVG(bitmap [][]bool, size int) []byte {
	n := strconv.Itoa(len(bitmap))
	px := strconv.Itoa(size)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="` + px + `" height="` + px +
		`" viewBox="0 0 ` + n + ` ` + n + `" shape-rendering="crispEdges">` +
		`<rect width="` + n + `" height="` + n + `" fill="#fff"/><path fill="#000" d="`)
	for y, row := range bitmap {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}
