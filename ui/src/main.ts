import { mount } from "svelte";
import App from "./App.svelte";
import { AppState } from "./lib/app.svelte";
import { tauriBackend } from "./lib/tauri";
import { applyTheme, savedTheme } from "./lib/theme";
import "./app.css";

applyTheme(savedTheme());
const state = new AppState(tauriBackend);
mount(App, { target: document.getElementById("app")!, props: { app: state } });
void state.start();
