import { mount } from 'svelte'
import './styles.css'
// Applies the stored or system theme before the first render.
import './lib/theme.svelte'
import App from './App.svelte'

const target = document.getElementById('app')
if (!target) throw new Error('The page has no #app element.')
mount(App, { target })
