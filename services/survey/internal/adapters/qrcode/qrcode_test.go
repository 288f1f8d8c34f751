package qrcode_test

import (
	"bytes"
	"image/png"
	"strings"
	"testing"

	"github.com/treue/treue/services/survey/internal/adapters/qrcode"
	"github.com/treue/treue/services/survey/internal/app"
)

const link = "https://survey.example.com/r/AZLm8w3bc2Yyq0sUP3d1ZmGn6ZhNQsKX7HyRZ0vN"

// The PNG has the size asked for, and each module is a square of whole pixels of one
// colour, centred: what the bitmap says, nothing blurred.
func TestPNGModulesAreCrisp(t *testing.T) {
	t.Parallel()
	bitmap, err := qrcode.Bitmap(link)
	if err != nil {
		t.Fatal(err)
	}
	n := len(bitmap)
	for _, size := range []int{256, 300, n, 10} {
		b, ctype, err := qrcode.Codes{}.Encode(link, app.QRPNG, size)
		if err != nil || ctype != "image/png" {
			t.Fatalf("size %d: %v %q", size, err, ctype)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		side := max(size, n)
		if img.Bounds().Dx() != side || img.Bounds().Dy() != side {
			t.Errorf("size %d: image %v", size, img.Bounds())
		}
		scale := max(size/n, 1)
		offset := (side - n*scale) / 2
		for y := range side {
			for x := range side {
				r, _, _, _ := img.At(x, y).RGBA()
				dark := r == 0
				mx, my := (x-offset)/scale, (y-offset)/scale
				inside := x >= offset && y >= offset && mx < n && my < n
				if want := inside && bitmap[my][mx]; dark != want {
					t.Fatalf("size %d: pixel %d,%d dark %v, want %v", size, x, y, dark, want)
				}
			}
		}
	}
}

func TestSVGAndFormats(t *testing.T) {
	t.Parallel()
	b, ctype, err := qrcode.Codes{}.Encode(link, app.QRSVG, 200)
	if err != nil || ctype != "image/svg+xml" {
		t.Fatalf("%v %q", err, ctype)
	}
	s := string(b)
	if !strings.HasPrefix(s, `<svg xmlns="http://www.w3.org/2000/svg"`) || strings.Count(s, "<path") != 1 ||
		!strings.Contains(s, `width="200" height="200"`) || !strings.Contains(s, `shape-rendering="crispEdges"`) {
		t.Errorf("svg: %s", s)
	}
	// The quiet zone: no module drawn in the four outer rows and columns.
	if strings.Contains(s, "M0 ") || strings.Contains(s, "M1 ") || strings.Contains(s, "M2 ") || strings.Contains(s, "M3 ") {
		t.Errorf("svg draws into the quiet zone: %s", s)
	}
	if _, _, err := (qrcode.Codes{}).Encode(link, "GIF", 100); err == nil {
		t.Error("an unknown format is drawn")
	}
	if _, _, err := (qrcode.Codes{}).Encode(strings.Repeat("x", 5000), app.QRPNG, 100); err == nil {
		t.Error("content too long for a QR code is drawn")
	}
}
