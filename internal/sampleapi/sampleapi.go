// Package sampleapi holds the small upstream services of the articles Gatehouse reproduces —
// the API Gateway PetStore, the versioned pet API of the IAM-groups sample and the vet
// clinic's appointments — used by `gatehouse demo`, the examples and their tests. Each echoes
// the X-Gatehouse-Principal it received, so a caller can see who the gateway said they are.
package sampleapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Pet is a PetStore pet.
type Pet struct {
	ID    int     `json:"id"`
	Type  string  `json:"type"`
	Price float64 `json:"price"`
}

// PetStore is API Gateway's PetStore example (article 000): GET /, GET /pets,
// GET /pets/{petId}, POST /pets.
func PetStore() http.Handler {
	var (
		mu   sync.Mutex
		pets = []Pet{{1, "dog", 249.99}, {2, "cat", 124.99}, {3, "fish", 0.99}}
	)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html><body><h1>Welcome to your Pet Store API</h1><p>You have successfully called the root of your API.</p></body></html>\n"))
	})
	mux.HandleFunc("GET /pets", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		writeJSON(w, http.StatusOK, pets)
	})
	mux.HandleFunc("GET /pets/{petId}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("petId"))
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pets {
			if err == nil && p.ID == id {
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "pet not found"})
	})
	mux.HandleFunc("POST /pets", func(w http.ResponseWriter, r *http.Request) {
		var p Pet
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&p); err != nil || p.Type == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "want {\"type\": ..., \"price\": ...}"})
			return
		}
		mu.Lock()
		p.ID = len(pets) + 1
		pets = append(pets, p)
		mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"pet": p, "message": "success", "principal": r.Header.Get("X-Gatehouse-Principal")})
	})
	return mux
}

// VersionedPets is the backend of the IAM-groups sample (article 001), routed on the path
// under the stage: /petstore/v1/pets, /petstore/v1/pets/{n}, /petstore/v2/pets,
// /petstore/v2/status.
func VersionedPets() http.Handler {
	pets := []map[string]any{{"id": 1, "name": "Birds"}, {"id": 2, "name": "Cats"}, {"id": 3, "name": "Dogs"}, {"id": 4, "name": "Fish"}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case r.Method == http.MethodGet && (p == "/petstore/v1/pets" || p == "/petstore/v2/pets"):
			writeJSON(w, http.StatusOK, map[string]any{"pets": pets})
		case r.Method == http.MethodGet && strings.HasPrefix(p, "/petstore/v1/pets/"):
			n, err := strconv.Atoi(strings.TrimPrefix(p, "/petstore/v1/pets/"))
			if err != nil || n < 1 || n > len(pets) {
				writeJSON(w, http.StatusNotFound, map[string]any{})
				return
			}
			writeJSON(w, http.StatusOK, pets[n-1])
		case p == "/petstore/v2/status":
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		default:
			writeJSON(w, http.StatusNotFound, map[string]any{})
		}
	})
}

// Appointment is a vet clinic appointment (article 004).
type Appointment struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Pet          string `json:"Pet"`
	Phone        string `json:"Phone Number"`
	VisitHistory string `json:"Visit History"`
	Veterinarian string `json:"Assigned Veterinarian"`
}

// Appointments serves GET /appointment/{id} for the vet clinic (article 004).
func Appointments() http.Handler {
	data := map[string]Appointment{
		"PI-T123": {"PI-T123", "Dave", "Onyx - Dog. 2y 3m", "+1234567", "Dental cleaning", "Jane"},
		"PI-T124": {"PI-T124", "Joy", "Jelly - Dog. 6y 2m", "+1368728", "None", "Jane"},
		"PI-T125": {"PI-T125", "Dave", "Sassy - Cat. 1y", "+1398777", "Vaccinations", "Adam"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /appointment/{id}", func(w http.ResponseWriter, r *http.Request) {
		a, ok := data[r.PathValue("id")]
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"appointment": a})
	})
	return mux
}
